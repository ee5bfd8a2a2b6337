"""Administrative division codes the platform needs: China's province-level units and Jiangsu's 13 cities.

Registry packages with GB/T 2260 data are stale, so the few codes we need live here, dated.

Source: GB/T 2260《中华人民共和国行政区划代码》as kept current by the Ministry of Civil Affairs
(民政部「中华人民共和国县以上行政区划代码」). Province-level codes and the codes of Jiangsu's 13
prefecture-level cities have not changed since 1997 (50 重庆市 was the last province-level addition;
3213 宿迁市 dates from 1996). Table compiled 2026-11-28.
"""

import re
import unicodedata

# Province-level divisions, GB/T 2260 two-digit codes (all 34).
PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

# Jiangsu's prefecture-level cities, GB/T 2260 four-digit codes.
JIANGSU_CITIES: dict[str, str] = {
    "3201": "南京市",
    "3202": "无锡市",
    "3203": "徐州市",
    "3204": "常州市",
    "3205": "苏州市",
    "3206": "南通市",
    "3207": "连云港市",
    "3208": "淮安市",
    "3209": "盐城市",
    "3210": "扬州市",
    "3211": "镇江市",
    "3212": "泰州市",
    "3213": "宿迁市",
}

# Longest suffixes first so "广西壮族自治区" loses "壮族自治区", not just "自治区".
_PROVINCE_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)


def _short_name(full_name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if full_name.endswith(suffix):
            return full_name[: -len(suffix)]
    return full_name


# The names people actually write ("河南", "新疆", "苏州"): derived, so they cannot drift from the tables above.
PROVINCE_SHORT_NAMES: dict[str, str] = {
    code: _short_name(name, _PROVINCE_SUFFIXES) for code, name in PROVINCES.items()
}
JIANGSU_CITY_SHORT_NAMES: dict[str, str] = {
    code: _short_name(name, ("市",)) for code, name in JIANGSU_CITIES.items()
}

_CITY_BY_NAME: dict[str, str] = {
    **{name: code for code, name in JIANGSU_CITIES.items()},
    **{name: code for code, name in JIANGSU_CITY_SHORT_NAMES.items()},
}
_SPACES = re.compile(r"\s+")


def jiangsu_city_code(value: str) -> str | None:
    """Resolve what a station or employer typed (code, "苏州", "苏州市", "江苏省苏州市") to a city code.

    Spreadsheets also carry six-digit codes ("320500"), so those are accepted when they name a city itself.
    """
    text = _SPACES.sub("", unicodedata.normalize("NFKC", value))
    if text.isdigit():
        if len(text) == 6 and text.endswith("00"):
            text = text[:4]
        return text if text in JIANGSU_CITIES else None
    for prefix in ("江苏省", "江苏"):
        if text.startswith(prefix) and text != prefix:
            text = text[len(prefix) :]
            break
    return _CITY_BY_NAME.get(text)


def is_province_code(code: str) -> bool:
    """True for a GB/T 2260 two-digit province-level code, e.g. "61" (陕西省)."""
    return code in PROVINCES
