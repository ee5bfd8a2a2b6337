"""The occupations this platform posts jobs for, coded like 《中华人民共和国职业分类大典（2022年版）》.

No machine-readable 大典 exists, so this is a curated table, not an extract: it covers the industries the
east-west labour cooperation policy names (manufacturing, construction, housekeeping, express logistics,
plus security and catering, where many placements land). Codes follow the 大典 layout
major-minor-unit-detail ("6-29-01-04"); "-00" closes a unit with a single occupation and "-99" is the 大典's
"other" slot, used for general construction labour (建筑杂工), which has no occupation of its own.

Entries marked "checked" were matched against a page-cited extract of the 2022 edition; the others are from
the published 国家职业技能标准 codes as remembered and should be read against the printed 大典 before they are
relied on outside this platform. Names are the 大典's; `_ALIASES` maps the names stations write in rosters
("货车司机", "仓库管理员") to them.
"""

import re
import unicodedata
from dataclasses import dataclass

INDUSTRIES: dict[str, str] = {
    "manufacturing": "制造业",
    "construction": "建筑业",
    "housekeeping": "家政服务",
    "logistics": "快递物流",
    "security": "保安服务",
    "catering": "餐饮服务",
    "retail": "批发零售",
}


@dataclass(frozen=True)
class Occupation:
    code: str
    name: str
    industry: str


_TABLE: tuple[tuple[str, str, str], ...] = (
    # manufacturing
    ("6-18-01-01", "车工", "manufacturing"),
    ("6-18-01-02", "铣工", "manufacturing"),
    ("6-18-01-07", "多工序数控机床操作调整工", "manufacturing"),
    ("6-18-02-01", "铸造工", "manufacturing"),  # checked
    ("6-18-02-04", "焊工", "manufacturing"),
    ("6-22-02-01", "汽车装调工", "manufacturing"),  # checked
    ("6-24-04-00", "电池制造工", "manufacturing"),  # checked
    ("6-25-01-13", "印制电路制作工", "manufacturing"),  # checked
    ("6-25-04-07", "电子设备装接工", "manufacturing"),
    ("6-14-02-00", "塑料制品加工工", "manufacturing"),  # checked
    ("6-04-02-01", "纺纱工", "manufacturing"),  # checked
    ("6-04-03-03", "织布工", "manufacturing"),  # checked
    ("6-05-01-03", "缝纫工", "manufacturing"),
    ("6-06-04-00", "家具制作工", "manufacturing"),  # checked
    ("6-02-01-01", "糕点面包烘焙工", "manufacturing"),
    ("6-31-01-02", "机修钳工", "manufacturing"),
    ("6-31-03-01", "质检员", "manufacturing"),
    # construction
    ("6-29-01-01", "砌筑工", "construction"),  # checked
    ("6-29-01-03", "混凝土工", "construction"),  # checked
    ("6-29-01-04", "钢筋工", "construction"),  # checked
    ("6-29-01-05", "架子工", "construction"),  # checked
    ("6-29-01-06", "装配式建筑施工员", "construction"),  # checked
    ("6-29-01-99", "其他房屋建筑施工人员", "construction"),
    ("6-29-02-08", "防水工", "construction"),  # checked
    ("6-29-03-02", "电气设备安装工", "construction"),  # checked
    ("6-29-03-04", "管工", "construction"),  # checked
    ("6-29-04-01", "装饰装修工", "construction"),  # checked
    ("6-31-01-03", "电工", "construction"),
    # housekeeping
    ("4-10-01-02", "育婴员", "housekeeping"),
    ("4-10-01-03", "保育员", "housekeeping"),
    ("4-10-01-05", "养老护理员", "housekeeping"),
    ("4-10-01-06", "家政服务员", "housekeeping"),
    ("4-09-08-02", "保洁员", "housekeeping"),
    # logistics
    ("4-02-07-08", "快递员", "logistics"),  # checked
    ("4-02-07-09", "快件处理员", "logistics"),  # checked
    ("4-02-06-01", "仓储管理员", "logistics"),  # checked
    ("4-02-06-02", "理货员", "logistics"),  # checked
    ("4-02-05-01", "装卸搬运工", "logistics"),  # checked
    ("4-02-02-02", "道路货运汽车驾驶员", "logistics"),  # checked
    # security
    ("4-07-05-01", "保安员", "security"),  # checked
    ("4-07-05-02", "安检员", "security"),
    # catering
    ("4-03-02-01", "中式烹调师", "catering"),
    ("4-03-02-02", "中式面点师", "catering"),
    ("4-03-02-05", "餐厅服务员", "catering"),
    # retail
    ("4-01-02-03", "商品营业员", "retail"),  # checked
)

OCCUPATIONS: dict[str, Occupation] = {
    code: Occupation(code=code, name=name, industry=industry) for code, name, industry in _TABLE
}

# Everyday names from rosters and job fairs -> 大典 code.
_ALIASES: dict[str, str] = {
    "机床操作工": "6-18-01-07",
    "数控机床操作工": "6-18-01-07",
    "数控操作工": "6-18-01-07",
    "电焊工": "6-18-02-04",
    "电子产品装配工": "6-25-04-07",
    "电子装配工": "6-25-04-07",
    "注塑工": "6-14-02-00",
    "细纱工": "6-04-02-01",
    "车缝工": "6-05-01-03",
    "食品加工工": "6-02-01-01",
    "质量检验员": "6-31-03-01",
    "品检员": "6-31-03-01",
    "瓦工": "6-29-01-01",
    "泥瓦工": "6-29-01-01",
    "建筑杂工": "6-29-01-99",
    "建筑普工": "6-29-01-99",
    "水电工": "6-29-03-02",
    "维修电工": "6-31-01-03",
    "家政员": "4-10-01-06",
    "保姆": "4-10-01-06",
    "月嫂": "4-10-01-02",
    "护工": "4-10-01-05",
    "快递分拣员": "4-02-07-09",
    "分拣员": "4-02-07-09",
    "仓库管理员": "4-02-06-01",
    "仓管员": "4-02-06-01",
    "搬运工": "4-02-05-01",
    "装卸工": "4-02-05-01",
    "货车司机": "4-02-02-02",
    "货车驾驶员": "4-02-02-02",
    "保安": "4-07-05-01",
    "厨师": "4-03-02-01",
    "中餐厨师": "4-03-02-01",
    "面点师": "4-03-02-02",
    "服务员": "4-03-02-05",
    "营业员": "4-01-02-03",
}

_CODE_FORMAT = re.compile(r"\d-\d{2}-\d{2}-\d{2}")
_SPACES = re.compile(r"\s+")
_BY_NAME: dict[str, str] = {**_ALIASES, **{occ.name: occ.code for occ in OCCUPATIONS.values()}}


def occupation(code: str) -> Occupation | None:
    return OCCUPATIONS.get(code.strip())


def is_occupation_code(code: str) -> bool:
    """Well-formed and in the table: a well-formed code we do not know cannot be matched on."""
    return _CODE_FORMAT.fullmatch(code) is not None and code in OCCUPATIONS


def occupation_code_by_name(name: str) -> str | None:
    """Resolve a name typed into a spreadsheet (大典 name or a common alias) to a code."""
    key = _SPACES.sub("", unicodedata.normalize("NFKC", name))
    return _BY_NAME.get(key)
