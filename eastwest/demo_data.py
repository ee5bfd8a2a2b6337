"""Demo employers and jobs, as API payloads, so a fresh install shows a believable supply list.

Pure and deterministic: the same data every time, nothing random, no I/O. Companies are invented (names
follow the usual "city + brand + trade + 有限公司" pattern); their 统一社会信用代码 are built with valid check
digits so that the API's own validation accepts them. Every job passes services.supply.compliance.
"""

import copy

from stdnum.cn import uscc

# GB 11714 organisation code: 8 characters and a check digit.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code(body: str) -> str:
    """Nine-character organisation code from an eight-digit body, so the embedded code is valid too."""
    remainder = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    check = {10: "X", 11: "0"}.get(remainder, str(remainder))
    return body + check


def _credit_code(district_code: str, org_body: str) -> str:
    """'9' (registered by market regulation) + '1' (enterprise) + district + organisation code + check digit."""
    first17 = "91" + district_code + _org_code(org_body)
    return first17 + uscc.calc_check_digit(first17)


# (key, name, district code, organisation code body, assistance base, caring employer)
_EMPLOYERS: tuple[tuple[str, str, str, str, bool, bool], ...] = (
    ("hengrun", "苏州恒润电子科技有限公司", "320505", "71403862", True, True),
    ("jiahe", "昆山嘉和精密机械有限公司", "320583", "75320914", False, True),
    ("xingang", "无锡新港纺织有限公司", "320214", "13582047", True, False),
    ("ningan", "南京宁安建设工程有限公司", "320115", "24906135", False, False),
    ("jinling", "南京金陵家政服务有限公司", "320104", "33817526", True, True),
    ("tianrun", "常州天润新能源科技有限公司", "320411", "57139048", False, True),
    ("tongda", "南通通达建筑劳务有限公司", "320612", "62051739", True, False),
    ("huitong", "徐州汇通供应链管理有限公司", "320312", "08457261", False, True),
    ("weiyang", "扬州维扬餐饮管理有限公司", "321002", "46270813", False, False),
    ("huatai", "泰州华泰汽车零部件有限公司", "321282", "79634150", True, True),
    ("lvyuan", "宿迁绿源食品有限公司", "321311", "35108472", True, True),
    ("dongfang", "盐城东方保安服务有限公司", "320902", "68923405", False, False),
    ("qingjiang", "淮安清江康养服务有限公司", "320812", "52714096", False, True),
)

_CREDIT_CODES: dict[str, str] = {
    key: _credit_code(district, org) for key, _, district, org, _, _ in _EMPLOYERS
}
_CITY_OF: dict[str, str] = {key: district[:4] for key, _, district, _, _, _ in _EMPLOYERS}


def demo_employers() -> list[dict[str, object]]:
    """Employers across several cities; credit codes carry the district of the city they are in."""
    return [
        {
            "name": name,
            "credit_code": _CREDIT_CODES[key],
            "city_code": _CITY_OF[key],
            "assistance_base": assistance_base,
            "caring_employer": caring_employer,
        }
        for key, name, _, _, assistance_base, caring_employer in _EMPLOYERS
    ]


# Shorthands keep the job table readable.
_ALL = {"dormitory": True, "meals": True, "social_insurance": True}
_NO_DORM = {"dormitory": False, "meals": True, "social_insurance": True}
_INSURANCE_ONLY = {"dormitory": False, "meals": False, "social_insurance": True}
_HEALTH_CERT = "健康证"


def _job(
    employer: str,
    title: str,
    description: str,
    occupation_code: str,
    industry: str,
    *,
    headcount: int,
    salary: tuple[int, int],
    age: tuple[int, int] = (18, 50),
    skills: tuple[str, ...] = (),
    certificates: tuple[str, ...] = (),
    benefits: dict[str, bool] = _ALL,
    shift: str = "长白班",
    contract_months: int = 24,
) -> dict[str, object]:
    """A job payload without employer_id, which is only known once the employers exist."""
    return {
        "employer": employer,
        "title": title,
        "description": description,
        "occupation_code": occupation_code,
        "industry": industry,
        "city_code": _CITY_OF[employer],
        "headcount": headcount,
        "salary_min": salary[0],
        "salary_max": salary[1],
        "age_min": age[0],
        "age_max": age[1],
        "skills": list(skills),
        "certificates_required": list(certificates),
        "benefits": dict(benefits),
        "shift": shift,
        "contract_months": contract_months,
    }


_JOBS: tuple[dict[str, object], ...] = (
    # 苏州恒润电子: electronics assembly
    _job(
        "hengrun",
        "电子产品装配工",
        "在无尘车间按作业指导书完成手机主板插件与组装，计件加计时，有师傅带教。",
        "6-25-04-07",
        "manufacturing",
        headcount=50,
        salary=(5200, 7500),
        age=(18, 45),
        skills=("电子装配", "识读作业指导书"),
        shift="两班倒",
        contract_months=36,
    ),
    _job(
        "hengrun",
        "SMT贴片操作员",
        "负责贴片机上料、换线和首件确认，公司提供岗前培训，熟练后可转技术员。",
        "6-25-04-07",
        "manufacturing",
        headcount=20,
        salary=(5500, 7800),
        age=(18, 40),
        skills=("贴片机操作", "静电防护"),
        shift="两班倒",
        contract_months=36,
    ),
    _job(
        "hengrun",
        "成品质检员",
        "对成品进行外观和功能检验，填写检验记录，发现异常及时反馈。",
        "6-31-03-01",
        "manufacturing",
        headcount=8,
        salary=(5000, 6800),
        age=(18, 45),
        skills=("目检", "检验记录填写"),
        shift="两班倒",
    ),
    _job(
        "hengrun",
        "厂区维修电工",
        "负责车间配电和生产设备电气线路的日常巡检与维修。",
        "6-31-01-03",
        "manufacturing",
        headcount=3,
        salary=(6500, 9000),
        age=(22, 50),
        skills=("低压配电", "设备电气维修"),
        certificates=("特种作业操作证（低压电工）",),
    ),
    # 昆山嘉和精密机械: machining
    _job(
        "jiahe",
        "数控车床操作工",
        "操作数控车床加工汽车精密零件，会看图纸者优先培养为调机员。",
        "6-18-01-07",
        "manufacturing",
        headcount=15,
        salary=(6000, 9000),
        age=(18, 45),
        skills=("数控车床操作", "机械识图", "量具使用"),
        shift="两班倒",
        contract_months=36,
    ),
    _job(
        "jiahe",
        "普通车工",
        "使用普通车床加工轴类零件，按图纸保证尺寸精度。",
        "6-18-01-01",
        "manufacturing",
        headcount=6,
        salary=(6000, 8500),
        age=(20, 50),
        skills=("普通车床操作", "机械识图"),
    ),
    _job(
        "jiahe",
        "电焊工",
        "负责设备机架的二氧化碳保护焊焊接，焊缝质量按工艺要求检验。",
        "6-18-02-04",
        "manufacturing",
        headcount=5,
        salary=(7000, 10000),
        age=(20, 50),
        skills=("二保焊", "氩弧焊"),
        certificates=("特种作业操作证（熔化焊接与热切割）",),
    ),
    _job(
        "jiahe",
        "设备机修钳工",
        "负责机加工设备的保养、故障排除和备件更换。",
        "6-31-01-02",
        "manufacturing",
        headcount=2,
        salary=(6500, 9000),
        age=(22, 50),
        skills=("设备维修", "钳工操作"),
    ),
    # 无锡新港纺织: textiles
    _job(
        "xingang",
        "细纱挡车工",
        "负责细纱机巡回、接头和落纱，厂内有熟练师傅带教，零基础可学。",
        "6-04-02-01",
        "manufacturing",
        headcount=30,
        salary=(4800, 6500),
        age=(18, 50),
        skills=("接头", "巡回操作"),
        shift="三班倒",
        contract_months=36,
    ),
    _job(
        "xingang",
        "织布挡车工",
        "看管喷气织机，处理断经断纬，保证布面质量。",
        "6-04-03-03",
        "manufacturing",
        headcount=20,
        salary=(5000, 7000),
        age=(18, 50),
        skills=("织机操作", "布面检验"),
        shift="三班倒",
        contract_months=36,
    ),
    _job(
        "xingang",
        "服装缝纫工",
        "在成衣车间使用平车、包缝机缝制男装衬衫和女装外套。",
        "6-05-01-03",
        "manufacturing",
        headcount=25,
        salary=(5000, 7500),
        age=(18, 50),
        skills=("平车", "包缝机"),
    ),
    # 南京宁安建设: construction
    _job(
        "ningan",
        "砌筑工",
        "负责住宅项目砌体墙砌筑，按班组计量结算，工资按月发放。",
        "6-29-01-01",
        "construction",
        headcount=20,
        salary=(7000, 10000),
        age=(20, 55),
        skills=("砌筑", "识图放线"),
        benefits=_NO_DORM,
        contract_months=12,
    ),
    _job(
        "ningan",
        "钢筋工",
        "负责钢筋下料、绑扎和安装，按图纸施工，工地提供工人宿舍。",
        "6-29-01-04",
        "construction",
        headcount=15,
        salary=(7500, 11000),
        age=(20, 55),
        skills=("钢筋绑扎", "钢筋下料"),
        contract_months=12,
    ),
    _job(
        "ningan",
        "架子工",
        "负责脚手架搭设与拆除，严格执行安全操作规程。",
        "6-29-01-05",
        "construction",
        headcount=8,
        salary=(8000, 12000),
        age=(20, 50),
        skills=("脚手架搭设",),
        certificates=("建筑施工特种作业操作资格证（架子工）",),
        contract_months=12,
    ),
    _job(
        "ningan",
        "建筑普工",
        "在工地从事材料转运、场地清理等辅助工作，当日安排班组长带领。",
        "6-29-01-99",
        "construction",
        headcount=30,
        salary=(5500, 7000),
        age=(18, 55),
        skills=("现场辅助作业",),
        contract_months=12,
    ),
    _job(
        "ningan",
        "施工现场电工",
        "负责施工临时用电的接线、巡检和维护。",
        "6-31-01-03",
        "construction",
        headcount=3,
        salary=(8000, 11000),
        age=(22, 55),
        skills=("临时用电", "配电箱维护"),
        certificates=("特种作业操作证（低压电工）",),
        contract_months=12,
    ),
    # 南京金陵家政: housekeeping
    _job(
        "jinling",
        "住家家政服务员",
        "为城区家庭提供做饭、保洁和衣物整理服务，公司统一培训后上岗。",
        "4-10-01-06",
        "housekeeping",
        headcount=20,
        salary=(5500, 8000),
        age=(25, 55),
        skills=("家庭烹饪", "家居保洁"),
        certificates=(_HEALTH_CERT,),
        benefits=_INSURANCE_ONLY,
        shift="住家",
        contract_months=12,
    ),
    _job(
        "jinling",
        "育婴员",
        "协助家庭照护0至3岁婴幼儿的饮食、睡眠和日常护理。",
        "4-10-01-02",
        "housekeeping",
        headcount=10,
        salary=(7000, 11000),
        age=(25, 50),
        skills=("婴幼儿照护", "辅食制作"),
        certificates=(_HEALTH_CERT, "育婴员职业技能等级证书"),
        benefits=_INSURANCE_ONLY,
        shift="住家",
        contract_months=12,
    ),
    _job(
        "jinling",
        "写字楼保洁员",
        "负责办公楼公共区域日常保洁，固定白班，周末轮休。",
        "4-09-08-02",
        "housekeeping",
        headcount=12,
        salary=(3800, 4500),
        age=(18, 55),
        skills=("清洁工具使用",),
        benefits=_NO_DORM,
    ),
    # 常州天润新能源: batteries
    _job(
        "tianrun",
        "电池电芯制造操作工",
        "负责锂电池卷绕、注液或化成工序的设备操作与记录。",
        "6-24-04-00",
        "manufacturing",
        headcount=40,
        salary=(5800, 8000),
        age=(18, 45),
        skills=("设备操作", "工序记录"),
        shift="两班倒",
        contract_months=36,
    ),
    _job(
        "tianrun",
        "注塑工",
        "操作注塑机生产电池外壳，负责换模后首件检查。",
        "6-14-02-00",
        "manufacturing",
        headcount=10,
        salary=(5500, 7500),
        age=(18, 45),
        skills=("注塑机操作",),
        shift="两班倒",
    ),
    _job(
        "tianrun",
        "仓库管理员",
        "负责原材料出入库、盘点和系统录入，会使用电脑办公软件。",
        "4-02-06-01",
        "logistics",
        headcount=3,
        salary=(5000, 6500),
        age=(20, 45),
        skills=("出入库管理", "盘点", "办公软件"),
        certificates=("特种设备作业人员证（叉车司机）",),
    ),
    # 南通通达建筑劳务: construction
    _job(
        "tongda",
        "混凝土工",
        "负责混凝土浇筑、振捣和养护，服从项目部统一调度。",
        "6-29-01-03",
        "construction",
        headcount=15,
        salary=(7000, 9500),
        age=(20, 55),
        skills=("混凝土浇筑", "振捣"),
        contract_months=12,
    ),
    _job(
        "tongda",
        "装配式建筑施工员",
        "负责预制构件吊装就位、校正和套筒灌浆，公司提供岗前培训。",
        "6-29-01-06",
        "construction",
        headcount=10,
        salary=(7500, 10000),
        age=(20, 50),
        skills=("构件吊装配合", "套筒灌浆"),
        contract_months=12,
    ),
    _job(
        "tongda",
        "防水工",
        "负责地下室和屋面的卷材及涂膜防水施工。",
        "6-29-02-08",
        "construction",
        headcount=6,
        salary=(7000, 9500),
        age=(20, 55),
        skills=("卷材防水", "涂膜防水"),
        contract_months=12,
    ),
    # 徐州汇通供应链: express and logistics
    _job(
        "huitong",
        "快递员",
        "负责片区快件揽收与派送，公司配发电动三轮车，多劳多得。",
        "4-02-07-08",
        "logistics",
        headcount=20,
        salary=(6000, 9000),
        age=(18, 50),
        skills=("快件揽派", "手机终端操作"),
        benefits=_NO_DORM,
        shift="早班",
        contract_months=12,
    ),
    _job(
        "huitong",
        "快件分拣员",
        "在转运中心负责快件卸车、扫描和分拨，夜班有补贴。",
        "4-02-07-09",
        "logistics",
        headcount=40,
        salary=(5000, 7000),
        age=(18, 50),
        skills=("扫描分拣",),
        shift="两班倒",
        contract_months=12,
    ),
    _job(
        "huitong",
        "装卸搬运工",
        "负责仓库货物装卸和码放，按件计酬。",
        "4-02-05-01",
        "logistics",
        headcount=15,
        salary=(5500, 8000),
        age=(18, 50),
        skills=("货物装卸", "码放"),
        contract_months=12,
    ),
    _job(
        "huitong",
        "干线货车司机",
        "驾驶重型厢式货车往返徐州至苏南各仓库，双驾轮换。",
        "4-02-02-02",
        "logistics",
        headcount=6,
        salary=(9000, 13000),
        age=(25, 55),
        skills=("重型货车驾驶", "车辆日常检查"),
        certificates=("机动车驾驶证（A2）", "道路运输从业人员从业资格证（货运）"),
        shift="轮班",
    ),
    # 扬州维扬餐饮: catering
    _job(
        "weiyang",
        "中式烹调师",
        "负责淮扬菜热菜烹制，参与菜品研发，有厨师证者可定级。",
        "4-03-02-01",
        "catering",
        headcount=4,
        salary=(6500, 9500),
        age=(20, 50),
        skills=("淮扬菜", "刀工"),
        certificates=(_HEALTH_CERT,),
        shift="两头班",
    ),
    _job(
        "weiyang",
        "中式面点师",
        "负责早茶点心制作，包子、烧卖和汤包等。",
        "4-03-02-02",
        "catering",
        headcount=4,
        salary=(6000, 8500),
        age=(20, 50),
        skills=("面点制作",),
        certificates=(_HEALTH_CERT,),
        shift="早班",
    ),
    _job(
        "weiyang",
        "餐厅服务员",
        "负责点单、传菜和餐前准备，有带薪培训，表现优秀可晋升领班。",
        "4-03-02-05",
        "catering",
        headcount=12,
        salary=(4200, 5500),
        age=(18, 45),
        skills=("点单", "服务礼仪"),
        certificates=(_HEALTH_CERT,),
        shift="两头班",
        contract_months=12,
    ),
    # 泰州华泰汽车零部件: automotive
    _job(
        "huatai",
        "汽车装调工",
        "在总装线完成底盘和内饰部件装配及调试，按节拍作业。",
        "6-22-02-01",
        "manufacturing",
        headcount=30,
        salary=(5800, 8000),
        age=(18, 45),
        skills=("装配作业", "扭矩工具使用"),
        shift="两班倒",
        contract_months=36,
    ),
    _job(
        "huatai",
        "铸造工",
        "负责铝合金压铸件的生产操作与去毛刺，车间配降温设备。",
        "6-18-02-01",
        "manufacturing",
        headcount=10,
        salary=(6000, 8500),
        age=(20, 50),
        skills=("压铸机操作",),
        shift="两班倒",
    ),
    # 宿迁绿源食品: food processing
    _job(
        "lvyuan",
        "面包烘焙工",
        "负责面包和糕点的和面、成型与烘烤，按配方和食品安全规范操作。",
        "6-02-01-01",
        "manufacturing",
        headcount=15,
        salary=(4500, 6000),
        age=(18, 50),
        skills=("烘焙", "食品安全规范"),
        certificates=(_HEALTH_CERT,),
        shift="两班倒",
    ),
    _job(
        "lvyuan",
        "食品包装质检员",
        "对包装成品进行抽检并记录，发现问题及时隔离。",
        "6-31-03-01",
        "manufacturing",
        headcount=5,
        salary=(4500, 5800),
        age=(18, 45),
        skills=("抽样检验", "检验记录填写"),
        certificates=(_HEALTH_CERT,),
    ),
    # 盐城东方保安: security
    _job(
        "dongfang",
        "园区保安员",
        "负责工业园区门岗值守、车辆登记和夜间巡逻。",
        "4-07-05-01",
        "security",
        headcount=20,
        salary=(4200, 5500),
        age=(18, 55),
        skills=("门岗值守", "巡逻", "消防设施使用"),
        certificates=("保安员证",),
        shift="做二休一",
    ),
    _job(
        "dongfang",
        "安检员",
        "在客运站负责行李安检机操作和旅客引导。",
        "4-07-05-02",
        "security",
        headcount=8,
        salary=(4500, 5800),
        age=(18, 45),
        skills=("安检设备操作",),
        certificates=("保安员证",),
        shift="三班倒",
    ),
    # 淮安清江康养: elderly care
    _job(
        "qingjiang",
        "养老护理员",
        "在养老机构为老人提供生活照料和基础护理，公司提供免费培训与考证。",
        "4-10-01-05",
        "housekeeping",
        headcount=15,
        salary=(4800, 6500),
        age=(20, 55),
        skills=("生活照料", "基础护理"),
        certificates=(_HEALTH_CERT,),
        shift="三班倒",
    ),
    _job(
        "qingjiang",
        "机构保洁员",
        "负责养老机构公共区域和房间保洁消毒。",
        "4-09-08-02",
        "housekeeping",
        headcount=6,
        salary=(3600, 4300),
        age=(18, 55),
        skills=("清洁消毒",),
        certificates=(_HEALTH_CERT,),
        benefits=_NO_DORM,
    ),
)


def demo_jobs(employer_ids_by_credit_code: dict[str, str]) -> list[dict[str, object]]:
    """Job payloads linked to the employers created from demo_employers().

    Raises KeyError naming the credit code when an employer was not created first.
    """
    jobs: list[dict[str, object]] = []
    for template in _JOBS:
        payload = copy.deepcopy(template)  # callers may mutate what they get
        credit_code = _CREDIT_CODES[str(payload.pop("employer"))]
        jobs.append({"employer_id": employer_ids_by_credit_code[credit_code], **payload})
    return jobs
