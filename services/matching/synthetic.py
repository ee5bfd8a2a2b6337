"""Synthetic jobs and workers for evaluation, tests and the benchmark: realistic Chinese text, real Jiangsu city
codes, occupation codes from libs.reference.occupations and plausible pay, deterministic for a seed.

Every random draw is made up front with numpy, so per item only a few string formats and one dataclass remain
(1M workers in seconds). Workers carry a hidden *planted* preference (a true occupation and city) that their
visible features only hint at, so an offline evaluation can tell whether a ranker recovers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from libs.reference.occupations import OCCUPATIONS
from libs.reference.regions import JIANGSU_CITIES, JIANGSU_CITY_SHORT_NAMES

from .features import JobFeatures, WorkerFeatures


@dataclass(frozen=True)
class Template:
    titles: tuple[str, ...]  # what employers call the job
    duties: tuple[str, ...]
    skills: tuple[str, ...]
    keywords: tuple[str, ...]  # what workers write in their intention
    certificate: str | None  # held by many workers of the trade, sometimes required
    pay: int  # typical monthly mid pay in a mid-tier Jiangsu city, yuan
    weight: float  # share of postings


T = Template
TEMPLATES: dict[str, Template] = {
    "6-18-01-01": T(("车工", "普通车床车工", "数控车工"), ("操作车床加工轴类零件", "按图纸完成零件车削加工"), ("车床操作", "看图纸", "量具使用"), ("车工", "车床", "机加工"), None, 7000, 2),
    "6-18-01-02": T(("铣工", "数控铣工", "铣床操作工"), ("操作铣床加工模具零件", "完成平面和槽的铣削"), ("铣床操作", "看图纸", "游标卡尺"), ("铣工", "铣床", "机加工"), None, 7000, 1),
    "6-18-01-07": T(("数控机床操作工", "CNC操作员", "加工中心操作工"), ("负责CNC加工中心上下料和调机", "按程序完成零件加工并自检"), ("数控编程", "CNC调机", "看图纸"), ("数控", "CNC", "加工中心", "数控操作工"), None, 7500, 4),
    "6-18-02-01": T(("铸造工", "压铸工", "浇注工"), ("负责铝合金压铸生产", "完成浇注和清理工作"), ("压铸机操作", "模具安装"), ("铸造", "压铸"), None, 6800, 1),
    "6-18-02-04": T(("电焊工", "氩弧焊工", "二保焊工"), ("负责钢结构件焊接", "完成不锈钢氩弧焊作业"), ("氩弧焊", "二氧化碳保护焊", "电焊"), ("电焊工", "焊工", "氩弧焊", "二保焊"), "焊工证", 8000, 4),
    "6-22-02-01": T(("汽车装配工", "总装线操作工", "汽车装调工"), ("在汽车总装线上完成零部件装配", "负责整车调试和检测"), ("装配", "拧紧工具使用"), ("汽车装配", "总装", "汽车厂"), None, 6500, 3),
    "6-24-04-00": T(("电池生产操作工", "锂电池操作工", "电芯装配工"), ("负责锂电池电芯卷绕和装配", "操作设备完成电池生产"), ("设备操作", "无尘车间"), ("锂电池", "电池厂", "电芯"), None, 6500, 3),
    "6-25-01-13": T(("PCB操作工", "线路板操作工", "印制电路制作工"), ("负责线路板曝光、蚀刻工序", "操作PCB生产设备"), ("PCB工艺", "设备操作"), ("线路板", "PCB"), None, 6000, 2),
    "6-25-04-07": T(("电子厂普工", "SMT操作员", "电子装配工"), ("在流水线上完成电子产品组装", "负责插件、焊锡和功能测试"), ("插件", "焊锡", "流水线作业"), ("电子厂", "普工", "电子装配", "流水线"), None, 5800, 8),
    "6-14-02-00": T(("注塑工", "注塑机操作工", "吹塑工"), ("操作注塑机生产塑料件", "负责上下模和产品修边"), ("注塑机操作", "修边"), ("注塑", "塑料厂"), None, 6000, 2),
    "6-04-02-01": T(("纺纱工", "细纱挡车工", "纺织厂挡车工"), ("负责细纱机看台和接头", "巡回检查纱线质量"), ("挡车", "接头"), ("纺纱", "纺织厂", "挡车工"), None, 5500, 2),
    "6-04-03-03": T(("织布工", "喷气织机挡车工", "织布挡车工"), ("负责织机看台和处理断经断纬", "保证布面质量"), ("挡车", "织机操作"), ("织布", "纺织", "挡车工"), None, 5500, 2),
    "6-05-01-03": T(("缝纫工", "车缝工", "服装厂平车工"), ("使用平车完成服装缝制", "负责成衣车缝和整烫"), ("平车", "缝纫机"), ("车缝", "缝纫", "服装厂"), None, 5800, 3),
    "6-06-04-00": T(("家具木工", "板式家具操作工", "家具打磨工"), ("负责板式家具开料和封边", "完成家具组装和打磨"), ("木工", "封边机"), ("家具厂", "木工"), None, 6000, 1),
    "6-02-01-01": T(("食品厂操作工", "面包烘焙工", "糕点生产工"), ("负责面包和糕点的成型烘烤", "在食品车间完成包装"), ("烘焙", "食品包装"), ("食品厂", "烘焙", "面包"), "健康证", 5200, 2),
    "6-31-01-02": T(("机修钳工", "设备维修工", "钳工"), ("负责生产设备的日常维护保养", "排除机械设备故障"), ("设备维修", "钳工", "看图纸"), ("机修", "钳工", "设备维修"), None, 7500, 2),
    "6-31-03-01": T(("质检员", "品检员", "QC检验员"), ("负责来料和成品检验", "填写检验记录并反馈质量问题"), ("量具使用", "品质检验"), ("质检", "品检", "QC"), None, 5800, 3),
    "6-29-01-01": T(("瓦工", "砌筑工", "泥瓦工"), ("负责砌砖、抹灰作业", "完成墙体砌筑"), ("砌砖", "抹灰"), ("瓦工", "泥瓦工", "砌墙"), None, 8500, 2),
    "6-29-01-03": T(("混凝土工", "浇筑工", "打灰工"), ("负责混凝土浇筑和振捣", "完成楼板浇筑养护"), ("振捣", "浇筑"), ("混凝土", "打灰"), None, 8000, 2),
    "6-29-01-04": T(("钢筋工", "钢筋绑扎工", "钢筋班组工人"), ("负责钢筋下料、绑扎", "按图纸完成钢筋安装"), ("钢筋绑扎", "看图纸"), ("钢筋工", "钢筋"), None, 9000, 3),
    "6-29-01-05": T(("架子工", "脚手架搭设工", "外架工"), ("负责脚手架搭设和拆除", "完成外架安全防护"), ("脚手架搭设", "高空作业"), ("架子工", "脚手架"), "架子工证", 9000, 2),
    "6-29-01-06": T(("装配式建筑施工员", "PC构件安装工", "装配式吊装工"), ("负责预制构件吊装和安装", "完成装配式节点灌浆"), ("构件安装", "灌浆"), ("装配式", "PC构件"), None, 8500, 1),
    "6-29-01-99": T(("建筑普工", "工地小工", "建筑杂工"), ("在工地从事搬运和清理", "配合技术工人完成施工"), ("搬运", "工地经验"), ("建筑普工", "小工", "工地", "杂工"), None, 7000, 4),
    "6-29-02-08": T(("防水工", "屋面防水工", "防水施工员"), ("负责屋面和地下室防水施工", "完成卷材铺贴"), ("卷材铺贴", "防水涂料"), ("防水",), None, 8000, 1),
    "6-29-03-02": T(("水电工", "电气安装工", "水电安装工"), ("负责工地水电管线安装", "完成配电箱和线路敷设"), ("布线", "水电安装"), ("水电工", "电气安装"), "电工证", 8500, 2),
    "6-29-03-04": T(("管道工", "管工", "消防管道安装工"), ("负责给排水管道安装", "完成消防管道焊接和试压"), ("管道安装", "试压"), ("管道", "管工"), None, 8000, 1),
    "6-29-04-01": T(("装修工", "油漆工", "贴砖工"), ("负责室内装修贴砖和刷漆", "完成吊顶和墙面处理"), ("贴砖", "刷漆", "吊顶"), ("装修", "油漆工", "贴砖"), None, 8500, 2),
    "6-31-01-03": T(("电工", "维修电工", "厂区电工"), ("负责厂区配电设备维护", "排查电气线路故障"), ("低压电工", "线路维修"), ("电工", "维修电工"), "电工证", 7500, 3),
    "4-10-01-02": T(("育婴员", "月嫂", "育儿嫂"), ("负责新生儿护理和产妇照料", "照顾婴幼儿饮食起居"), ("婴儿护理", "产后护理"), ("月嫂", "育婴", "育儿嫂"), "健康证", 9000, 2),
    "4-10-01-03": T(("保育员", "幼儿园保育员", "托育老师"), ("负责幼儿园班级卫生和幼儿生活照料", "协助老师组织活动"), ("幼儿照料", "卫生消毒"), ("保育员", "幼儿园"), "健康证", 4500, 1),
    "4-10-01-05": T(("养老护理员", "护工", "养老院护理员"), ("负责老人日常生活照料", "协助老人康复和用药"), ("老人护理", "康复护理"), ("护工", "养老护理", "养老院"), "健康证", 5500, 3),
    "4-10-01-06": T(("家政服务员", "住家保姆", "钟点工"), ("负责家庭保洁、做饭", "照顾家庭成员起居"), ("做饭", "家务", "保洁"), ("保姆", "家政", "住家保姆"), "健康证", 6000, 2),
    "4-09-08-02": T(("保洁员", "物业保洁", "商场保洁"), ("负责楼道和公共区域清洁", "完成写字楼日常保洁"), ("清洁", "垃圾分类"), ("保洁", "清洁工"), None, 3800, 3),
    "4-02-07-08": T(("快递员", "快递派送员", "同城配送员"), ("负责片区快递收派", "使用电动车完成包裹派送"), ("派件", "电动车驾驶"), ("快递员", "送快递", "派件"), None, 7000, 4),
    "4-02-07-09": T(("分拣员", "快递分拣员", "转运中心操作员"), ("在转运中心负责包裹分拣", "完成扫描、装车和卸车"), ("分拣", "扫描"), ("分拣", "快递分拣", "物流园"), None, 5800, 4),
    "4-02-06-01": T(("仓管员", "仓库管理员", "仓储专员"), ("负责出入库管理和盘点", "使用WMS系统记录库存"), ("盘点", "WMS系统", "叉车"), ("仓管", "仓库管理"), None, 5500, 2),
    "4-02-06-02": T(("理货员", "超市理货员", "物流理货员"), ("负责商品上架和补货", "核对货物数量"), ("理货", "补货"), ("理货",), None, 4800, 2),
    "4-02-05-01": T(("装卸工", "搬运工", "叉车工"), ("负责货物装卸和搬运", "驾驶叉车完成仓库转运"), ("叉车", "装卸"), ("搬运", "装卸", "叉车工"), None, 6500, 3),
    "4-02-02-02": T(("货车司机", "重卡司机", "物流司机"), ("负责干线货物运输", "驾驶厢式货车完成城市配送"), ("B2驾照", "A2驾照", "驾驶"), ("货车司机", "司机", "开货车"), "道路货物运输从业资格证", 9000, 2),
    "4-07-05-01": T(("保安", "门岗保安", "小区保安"), ("负责门岗值守和巡逻", "维护园区秩序"), ("巡逻", "消防知识"), ("保安", "门卫"), "保安员证", 4500, 3),
    "4-07-05-02": T(("安检员", "地铁安检员", "物流安检员"), ("负责地铁站安检", "操作X光机检查包裹"), ("安检设备操作",), ("安检",), "保安员证", 4800, 1),
    "4-03-02-01": T(("厨师", "中餐厨师", "食堂厨师"), ("负责食堂大锅菜烹饪", "完成中餐热菜制作"), ("炒菜", "刀工"), ("厨师", "炒菜", "食堂"), "健康证", 7000, 2),
    "4-03-02-02": T(("面点师", "白案师傅", "面点工"), ("负责包子、馒头等面点制作", "完成早餐面点供应"), ("面点", "和面"), ("面点", "白案"), "健康证", 6000, 1),
    "4-03-02-05": T(("服务员", "餐厅服务员", "传菜员"), ("负责餐厅点菜和上菜", "做好餐厅卫生和接待"), ("点菜", "接待"), ("服务员", "餐厅"), "健康证", 4500, 2),
    "4-01-02-03": T(("营业员", "超市营业员", "门店店员"), ("负责门店销售和收银", "做好商品陈列"), ("收银", "销售"), ("营业员", "超市", "收银"), None, 4500, 1),
}  # fmt: skip
del T

# Postings by city: the southern manufacturing cities post most; pay scales with the city's tier.
CITY_WEIGHTS: dict[str, float] = {
    "3205": 0.24, "3202": 0.12, "3201": 0.11, "3204": 0.08, "3206": 0.08, "3212": 0.05, "3211": 0.04,
    "3210": 0.05, "3203": 0.06, "3209": 0.05, "3208": 0.04, "3207": 0.04, "3213": 0.04,
}  # fmt: skip
CITY_PAY: dict[str, float] = {
    "3205": 1.12, "3201": 1.1, "3202": 1.08, "3204": 1.04, "3206": 1.0, "3211": 1.0, "3210": 0.98,
    "3212": 0.98, "3203": 0.93, "3209": 0.92, "3208": 0.9, "3207": 0.9, "3213": 0.88,
}  # fmt: skip
INDUSTRY_COMPANY: dict[str, tuple[str, ...]] = {
    "manufacturing": ("电子科技有限公司", "精密机械有限公司", "新能源科技有限公司", "汽车零部件有限公司", "纺织有限公司"),
    "construction": ("建设集团有限公司", "建筑工程有限公司", "装饰工程有限公司"),
    "housekeeping": ("家政服务有限公司", "养老服务中心", "物业管理有限公司"),
    "logistics": ("供应链管理有限公司", "物流有限公司", "快递服务有限公司"),
    "security": ("保安服务有限公司", "安保服务有限公司"),
    "catering": ("餐饮管理有限公司", "团餐服务有限公司"),
    "retail": ("商贸有限公司", "超市连锁有限公司"),
}  # fmt: skip
SHIFTS = ("长白班", "两班倒", "三班倒", "做六休一", "月休四天", "八小时工作制")
BENEFITS = ("缴纳五险", "有加班费", "工资按月发放", "年底有奖金", "提供工作服", "节日福利")
REQUIREMENTS = (
    "有经验者优先",
    "可接受新手，提供岗前培训",
    "吃苦耐劳，服从安排",
    "身体健康",
    "能适应站立工作",
)
WISHES = ("长期稳定", "包吃住", "工资高点", "离家近", "夫妻房", "不要夜班", "活不累", "")
ORIGIN_PROVINCES = ("61", "63", "52", "65", "54", "62", "51", "53", "45", "50")
HEALTH_CERTIFICATE = "健康证"

CODES: tuple[str, ...] = tuple(TEMPLATES)
CITIES: tuple[str, ...] = tuple(JIANGSU_CITIES)


@dataclass(frozen=True)
class Planted:
    """A worker's hidden true preference: what they would actually take."""

    occupation_code: str
    city_code: str


def _probabilities(weights: list[float]) -> npt.NDArray[np.float64]:
    array = np.asarray(weights, dtype=np.float64)
    return np.asarray(array / array.sum(), dtype=np.float64)


OCCUPATION_P = _probabilities([template.weight for template in TEMPLATES.values()])
CITY_P = _probabilities([CITY_WEIGHTS[code] for code in CITIES])


def _ids(rng: np.random.Generator, n: int) -> list[str]:
    """UUID-4-shaped random ids (matching's ids are random, never derived from a person)."""
    raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
    out: list[str] = []
    for high, low in raw.tolist():
        text = f"{high:016x}{low:016x}"
        out.append(f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}")
    return out


def _sibling(code: str) -> str:
    """Another occupation in the same minor group (else the same major group): a plausible wrong guess."""
    minor, major = code[:4], code[:1]
    same_minor = [other for other in CODES if other[:4] == minor and other != code]
    if same_minor:
        return same_minor[sum(map(ord, code)) % len(same_minor)]
    same_major = [other for other in CODES if other[:1] == major and other != code]
    return same_major[len(code) % len(same_major)]


SIBLINGS: dict[str, str] = {code: _sibling(code) for code in CODES}


def make_jobs(n: int, seed: int = 7, today: date | None = None) -> list[JobFeatures]:
    """`n` open jobs (a few closed, full or expired ones among them, as in a live supply list)."""
    today = today or date(2026, 12, 1)
    rng = np.random.default_rng(seed)
    occ = rng.choice(len(CODES), size=n, p=OCCUPATION_P)
    city = rng.choice(len(CITIES), size=n, p=CITY_P)
    pick = rng.integers(0, 1 << 30, size=(n, 8))
    u = rng.random((n, 8))
    noise = rng.normal(0.0, 0.08, size=n)
    headcount = np.minimum(rng.geometric(0.15, size=n), 200)
    ids = _ids(rng, n)
    age_max_choices = (None, 45, 50, 55, 60)
    jobs: list[JobFeatures] = []
    for i in range(n):
        code = CODES[occ[i]]
        template = TEMPLATES[code]
        occupation = OCCUPATIONS[code]
        city_code = CITIES[city[i]]
        p = pick[i]
        title = template.titles[p[0] % len(template.titles)]
        companies = INDUSTRY_COMPANY[occupation.industry]
        company = JIANGSU_CITY_SHORT_NAMES[city_code] + "某" + companies[p[1] % len(companies)]
        dormitory = bool(u[i, 0] < 0.7)
        meals = bool(u[i, 1] < 0.6)
        perks = (
            ("包吃包住" if meals else "提供宿舍") if dormitory else ("提供工作餐" if meals else "不提供住宿")
        )
        description = (
            f"{company}招聘{title}{int(headcount[i])}名，{template.duties[p[2] % len(template.duties)]}。"
            f"{SHIFTS[p[3] % len(SHIFTS)]}，{perks}，{BENEFITS[p[4] % len(BENEFITS)]}。"
            f"{REQUIREMENTS[p[5] % len(REQUIREMENTS)]}。"
        )
        mid = template.pay * CITY_PAY[city_code] * (1.0 + noise[i])
        spread = 1000 + 500 * int(p[6] % 4)
        salary_min = max(2300, round(float(mid - spread / 2) / 100.0) * 100)
        age_min = None if u[i, 2] < 0.1 else (16 if u[i, 2] < 0.15 else (20 if u[i, 2] < 0.3 else 18))
        requires = template.certificate is not None and u[i, 3] < 0.4
        valid_days = -5 if u[i, 4] < 0.03 else 10 + int(p[7] % 110)
        jobs.append(
            JobFeatures(
                id=ids[i],
                title=title,
                description=description,
                skills=template.skills[: 1 + int(p[6] % len(template.skills))],
                occupation_code=None if u[i, 5] < 0.04 else code,
                city_code=city_code,
                salary_min=salary_min,
                salary_max=salary_min + spread,
                age_min=age_min,
                age_max=age_max_choices[int(p[5] % len(age_max_choices))],
                certificates_required=(template.certificate,) if requires and template.certificate else (),
                dormitory=dormitory,
                meals=meals,
                headcount_left=0 if u[i, 6] < 0.02 else int(headcount[i]),
                employer_assistance_base=bool(u[i, 7] < 0.1),
                valid_until=today + timedelta(days=valid_days),
                open=bool(u[i, 6] < 0.99),
            )
        )
    return jobs


def make_workers_with_truth(
    n: int, seed: int = 7, today: date | None = None
) -> tuple[list[WorkerFeatures], list[Planted]]:
    """`n` workers and, for each, the planted preference their features hint at.

    Visible signals, by design imperfect: the stated occupation is the true one (65 %), the true one plus a
    sibling (15 %), only a sibling (10 %) or missing (10 %, keywords only); the acceptable cities are the true
    one (55 %), it and one or two others (25 %), or any (20 %)."""
    today = today or date(2026, 12, 1)
    rng = np.random.default_rng(seed + 1_000_003)
    occ = rng.choice(len(CODES), size=n, p=OCCUPATION_P)
    city = rng.choice(len(CITIES), size=n, p=CITY_P)
    extra_cities = rng.choice(len(CITIES), size=(n, 2), p=CITY_P)
    pick = rng.integers(0, 1 << 30, size=(n, 8))
    u = rng.random((n, 12))
    age = rng.integers(18, 63, size=n)
    pay_noise = rng.normal(-0.05, 0.1, size=n)
    days_ago = rng.integers(10, 500, size=n)
    ids = _ids(rng, n)
    stations = {
        province: tuple(f"st-{province}-{k:02d}" for k in range(1, 5)) for province in ORIGIN_PROVINCES
    }
    date_cache: dict[int, date] = {}

    def day(offset: int) -> date:
        if offset not in date_cache:
            date_cache[offset] = today + timedelta(days=offset)
        return date_cache[offset]

    # Work history from a generator of its own, so that every other draw stays as it was: most workers did
    # their true trade (55 %) or a neighbouring one (20 %) before, in their own words; the rest say nothing.
    told = np.random.default_rng(seed + 2_000_003)
    history_roll = told.random(n)
    history_pick = told.integers(0, 1 << 30, size=(n, 3))
    workers: list[WorkerFeatures] = []
    truths: list[Planted] = []
    for i in range(n):
        code = CODES[occ[i]]
        template = TEMPLATES[code]
        true_city = CITIES[city[i]]
        p, r = pick[i], u[i]
        stated = (
            (code,)
            if r[0] < 0.65
            else (code, SIBLINGS[code])
            if r[0] < 0.8
            else (SIBLINGS[code],)
            if r[0] < 0.9
            else ()
        )
        keyword = template.keywords[p[0] % len(template.keywords)]
        wish = WISHES[p[1] % len(WISHES)]
        keywords = f"{keyword} {wish}".strip() if r[1] < 0.9 else wish
        if not stated and not keywords:
            keywords = keyword
        if r[2] < 0.55:
            cities: tuple[str, ...] = (true_city,)
        elif r[2] < 0.8:
            others = [CITIES[c] for c in extra_cities[i, : 1 + int(p[2] % 2)] if CITIES[c] != true_city]
            cities = (true_city, *others)
        else:
            cities = ()
        gender = (
            "female" if r[3] < (0.8 if OCCUPATIONS[code].industry == "housekeeping" else 0.35) else "male"
        )
        certificates: tuple[str, ...] = ()
        if template.certificate and r[4] < 0.6:
            certificates = (template.certificate,)
        if r[5] < 0.3 and HEALTH_CERTIFICATE not in certificates:
            certificates = (*certificates, HEALTH_CERTIFICATE)
        minimum = None if r[6] < 0.2 else round(template.pay * (1.0 + float(pay_noise[i])) / 500.0) * 500
        available = None if r[7] < 0.8 else day(int(p[3] % 30)) if r[7] < 0.96 else day(60 + int(p[3] % 30))
        categories: tuple[str, ...] = ()
        if r[8] < 0.4:
            categories = ("poverty_alleviated",)
        elif r[8] < 0.48:
            categories = ("registered_low_income", "rural_low_income")
        elif r[8] < 0.55:
            categories = ("rural_low_income",)
        if r[9] < 0.05:
            categories = (*categories, "dibao")
        province = ORIGIN_PROVINCES[p[4] % len(ORIGIN_PROVINCES)]
        history = ""
        if history_roll[i] < 0.75:
            done = TEMPLATES[code if history_roll[i] < 0.55 else SIBLINGS[code]]
            hp = history_pick[i]
            history = (
                f"做过{done.titles[hp[0] % len(done.titles)]}，{done.duties[hp[1] % len(done.duties)]}，"
                f"会{done.skills[hp[2] % len(done.skills)]}"
            )
        workers.append(
            WorkerFeatures(
                id=ids[i],
                age=int(age[i]),
                gender=gender,
                education=None,
                categories=categories,
                key_region=bool(r[10] < 0.3),
                skills=template.skills[: int(p[5] % (len(template.skills) + 1))],
                certificates=certificates,
                occupation_codes=stated,
                keywords=keywords,
                city_codes=cities,
                min_salary=minimum,
                needs_dormitory=bool(r[11] < 0.7),
                available_from=available,
                trained_occupations=(code,) if r[9] > 0.9 else (),
                unemployed_since=day(-int(days_ago[i])) if r[10] > 0.7 else None,
                province_code=province,
                station_id=stations[province][p[6] % 4],
                history=history,
            )
        )
        truths.append(Planted(occupation_code=code, city_code=true_city))
    return workers, truths


def make_workers(n: int, seed: int = 7, today: date | None = None) -> list[WorkerFeatures]:
    return make_workers_with_truth(n, seed, today)[0]
