"""The checks a job must pass before it is published: no discriminatory requirement, no pay below minimum wage.

Pure functions: the publishing flow decides what to do with the issues (hold the job, show them to the
employer). Discrimination is found with regexes built from data tables (province and city names from
libs.reference.regions, the 56 ethnic groups) rather than a list of literal phrases, so "不招甘肃人" is caught
as surely as "不招河南人". Each pattern needs a restricting or excluding word next to the group it names,
which is what keeps "男女不限", "欢迎少数民族" and garment words such as "男装" out.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from libs.reference.minimum_wage import minimum_monthly_wage
from libs.reference.regions import JIANGSU_CITIES, JIANGSU_CITY_SHORT_NAMES, PROVINCE_SHORT_NAMES


@dataclass(frozen=True)
class ComplianceIssue:
    code: str
    message: str


SEX = "discrimination.sex"
ETHNICITY = "discrimination.ethnicity"
REGION = "discrimination.region"
HEALTH = "discrimination.health"
BELOW_MINIMUM_WAGE = "pay.below_minimum_wage"

_MESSAGES: dict[str, str] = {
    SEX: (
        "招聘信息含性别或婚育限制「{0}」。招聘不得限定性别、设置性别优先或以婚育状况作为录用条件"
        "（《就业促进法》第三条、第二十七条，《妇女权益保障法》第四十三条），请删除后再发布。"
    ),
    ETHNICITY: (
        "招聘信息含民族限制「{0}」。各民族劳动者享有平等的劳动权利"
        "（《就业促进法》第三条、第二十八条），请删除后再发布。"
    ),
    REGION: (
        "招聘信息含地域、籍贯或户籍限制「{0}」。劳动者就业不受歧视，不得对农村和外地劳动者设置歧视性限制"
        "（《就业促进法》第三条、第三十一条），请删除后再发布。"
    ),
    HEALTH: (
        "招聘信息含针对乙肝等传染病病原携带者的限制「{0}」。不得以是传染病病原携带者为由拒绝录用"
        "（《就业促进法》第三十条），请删除后再发布。"
    ),
}

# --- vocabulary -------------------------------------------------------------------------------------------

# Words that restrict a job to a group ("限男性"), exclude a group ("不招女性"), or follow the group to exclude
# it ("外地人勿扰"). "限" preceded by "不" is "no limit", hence the lookbehind.
_ONLY = r"(?:(?<!不)限定?|仅限|只限|限招|仅招|只招|只要|仅要|只收|仅收|须为|需为|必须是|必须为|(?<!不)要求):?"
_EXCLUDE = r"(?:不招|不要|不收|不录用|不录取|不考虑|不接受|谢绝|拒绝|拒收|排除)"
# "不要"/"不收" also start ordinary advice ("少数民族不要担心饮食"), so they count only at the end of a clause.
_CLAUSE_END = r"(?=$|[,.;:!?、。)\]」』])"
_EXCLUDED = (
    r"(?:勿扰|免谈|勿投|慎投|不招|不录用|不考虑|不予考虑|不接受|谢绝|除外|请绕道|绕道"
    f"|不要{_CLAUSE_END}|不收{_CLAUSE_END})"
)
# A preference in hiring, not in housing or benefits ("外地人员优先安排宿舍" is fine).
_PREFERRED = r"(?:者)?优先(?!安排|入住|分配|住宿|享受|提供|报销)"


def _alternation(words: list[str] | set[str]) -> str:
    """Longest first, so "维吾尔族" is tried before "维族" and "女性" before "女"."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


# Sex. A lone 男/女 must not run on into a garment or product word (男装, 女鞋), a dress code (男士着正装),
# or the other sex (男女不限).
_SEX_NOT_FOLLOWED_BY = "装鞋款包用内服着穿衣童孩女男"
_SEX_WORD = (
    "(?:"
    + f"(?:男性|女性|男士|女士|男生|女生|男工|女工|男的|女的)(?![{_SEX_NOT_FOLLOWED_BY}])"
    + f"|[男女](?![性士生工的{_SEX_NOT_FOLLOWED_BY}])"
    + ")"
)

# Ethnicity: the 56 groups, plus the short forms people write.
_ETHNIC_GROUPS = [
    "汉族",
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
]
_ETHNIC_SHORT = ["维族", "维吾尔", "藏民", "回民", "汉人", "穆斯林"]
_MINORITY_WORDS = ["少数民族", "少民"]
# "水族馆" is an aquarium, not the Shui people.
_NOT_ETHNIC_AFTER = "(?!馆|箱)"
_ETHNIC_WORD = _alternation({*_ETHNIC_GROUPS, *_ETHNIC_SHORT, *_MINORITY_WORDS}) + _NOT_ETHNIC_AFTER
# "少数民族优先" is the 适当照顾 the law asks for (art. 28), so preferences exclude the minority words.
_ETHNIC_PREFERENCE_WORD = _alternation({*_ETHNIC_GROUPS, *_ETHNIC_SHORT}) + _NOT_ETHNIC_AFTER

# Region and origin: provinces and Jiangsu cities by the names people write, broad regions, and the words for
# "not from here" / "from here".
_PLACE_NAMES = {*PROVINCE_SHORT_NAMES.values(), *JIANGSU_CITY_SHORT_NAMES.values(), *JIANGSU_CITIES.values()}
_PLACE_NAMES |= {"内蒙", "东北", "西北", "西南", "华北", "华南", "华中", "苏北", "苏南", "苏中", "江浙沪"}
_LOCAL_WORDS = {"本地", "本市", "本省", "本区", "本县", "当地"}
_OUTSIDER_WORDS = {"外地", "外省", "外来", "外乡"}
_HUKOU_KINDS = {"农村", "农业", "城镇", "非农"}
_PEOPLE = r"(?:籍人员|籍人士|户籍|户口|生源|老乡|人员|籍|人)"
_PLACE = _alternation(_PLACE_NAMES | _LOCAL_WORDS)
_ANY_ORIGIN = _alternation(_PLACE_NAMES | _LOCAL_WORDS | _OUTSIDER_WORDS)

# A restriction governs a list: "限男性，汉族", "不招女性、少数民族", "女性、外地人勿扰". Each item of such a list
# is itself a group word (or an age or marital condition), so "限男性，欢迎少数民族" stays one restriction.
_AGE = r"\d{1,2}(?:-\d{1,2})?周?岁(?:以下|以上|以内)?"
_LISTED = (
    "(?:" + "|".join((_SEX_WORD, _ETHNIC_WORD, f"{_ANY_ORIGIN}{_PEOPLE}", _AGE, "未婚|已婚|未育|已育")) + ")"
)
_SEPARATOR = "[,、/和及与]?"
_LEAD = f"(?:{_LISTED}{_SEPARATOR})*?"
_TRAIL = f"(?:{_SEPARATOR}{_LISTED})*?"

_SEX_PATTERNS = [
    f"{_ONLY}{_LEAD}{_SEX_WORD}",
    f"{_EXCLUDE}{_LEAD}{_SEX_WORD}",
    f"{_SEX_WORD}{_TRAIL}{_EXCLUDED}",
    f"{_SEX_WORD}{_PREFERRED}",
    f"性别(?:要求|限制|限定)?:?{_SEX_WORD}",
    # Marital and pregnancy conditions are sex discrimination too (妇女权益保障法 art. 43).
    r"未婚未育|已婚已育" + _PREFERRED,
    f"{_ONLY}未婚",
    r"(?:孕妇|怀孕|孕期)(?:者)?" + _EXCLUDED,
]

_ETHNICITY_PATTERNS = [
    f"{_ONLY}{_LEAD}{_ETHNIC_WORD}",
    f"{_EXCLUDE}{_LEAD}{_ETHNIC_WORD}",
    f"{_ETHNIC_WORD}(?:人|人员|同胞)?{_TRAIL}{_EXCLUDED}",
    f"{_ETHNIC_PREFERENCE_WORD}(?:人|人员)?{_PREFERRED}",
    f"民族(?:要求|限制|限定)?:?{_ETHNIC_WORD}",
]

_REGION_PATTERNS = [
    # "限本地户籍", "仅限江苏籍": a place alone after 限 may be the work site ("仅限苏州工作"), so a people word
    # must follow.
    f"{_ONLY}{_LEAD}{_ANY_ORIGIN}{_PEOPLE}",
    f"{_EXCLUDE}{_LEAD}{_ANY_ORIGIN}{_PEOPLE}?",
    f"{_EXCLUDE}{_alternation(_HUKOU_KINDS)}{_PEOPLE}",
    f"{_PLACE}{_PEOPLE}{_TRAIL}{_EXCLUDED}",
    f"{_alternation(_OUTSIDER_WORDS)}{_PEOPLE}?{_EXCLUDED}",
    f"{_alternation(_HUKOU_KINDS)}(?:户籍|户口){_EXCLUDED}",
    f"{_ANY_ORIGIN}{_PEOPLE}{_PREFERRED}",
]

# Health: carriers of hepatitis B (and HIV) may not be refused (就业促进法 art. 30); testing for hepatitis B in
# recruitment medicals was abolished in 2010, so asking for it is flagged too. "乙肝疫苗" stays neutral.
_CARRIER = (
    r"(?:乙肝|乙型肝炎|肝炎|大三阳|小三阳|hbsag阳性|澳抗阳性|艾滋病?|hiv)(?:病毒)?(?:携带者|患者|阳性|病人)?"
)
_HEALTH_PATTERNS = [
    f"{_CARRIER}{_EXCLUDED}",
    f"{_EXCLUDE}{_CARRIER}",
    r"(?:无|没有)(?:乙肝|乙型肝炎|大三阳|小三阳)(?!歧视|疫苗)",
    r"乙肝五项|乙肝两对半|两对半|乙肝检查|乙肝检测|hbsag检测",
]

_RULES: list[tuple[str, re.Pattern[str]]] = [
    (code, re.compile("|".join(f"(?:{p})" for p in patterns)))
    for code, patterns in (
        (SEX, _SEX_PATTERNS),
        (ETHNICITY, _ETHNICITY_PATTERNS),
        (REGION, _REGION_PATTERNS),
        (HEALTH, _HEALTH_PATTERNS),
    )
]

# Whitespace and zero-width characters are dropped so "限 男 性" reads like "限男性".
_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC: "：" -> ":", "ＨＢｓＡｇ" -> "HBsAg"), lower case, no spaces."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).lower()


def discriminatory_terms(text: str) -> list[ComplianceIssue]:
    """One issue per distinct discriminatory phrase found, in rule order then position."""
    normalised = normalise(text)
    issues: list[ComplianceIssue] = []
    seen: set[tuple[str, str]] = set()
    for code, pattern in _RULES:
        for match in pattern.finditer(normalised):
            phrase = match.group(0)
            if (code, phrase) not in seen:
                seen.add((code, phrase))
                issues.append(ComplianceIssue(code=code, message=_MESSAGES[code].format(phrase)))
    return issues


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def check_posting(*, texts: list[str], salary_min: int, city_code: str, on: date) -> list[ComplianceIssue]:
    """All issues that keep a job from being published on `on`: one per kind of discrimination, then pay.

    An unknown city (or a date before the wage table) yields no pay issue: validating the city is the
    caller's job, and refusing for lack of data would block lawful jobs.
    """
    issues: list[ComplianceIssue] = []
    codes: set[str] = set()
    for text in texts:
        for issue in discriminatory_terms(text):
            if issue.code not in codes:
                codes.add(issue.code)
                issues.append(issue)
    minimum = minimum_monthly_wage(city_code, on)
    if minimum is not None and salary_min < minimum.monthly_yuan:
        city = JIANGSU_CITIES.get(city_code, city_code)
        issues.append(
            ComplianceIssue(
                code=BELOW_MINIMUM_WAGE,
                message=(
                    f"月薪下限{salary_min}元低于{city}最低工资标准{minimum.monthly_yuan}元"
                    f"（自{_chinese_date(minimum.effective_from)}起执行，依据{minimum.source}），"
                    "请调整薪资后再发布。"
                ),
            )
        )
    return issues
