"""Education levels (学历), after GB/T 4658-2006 《学历代码》, the national standard 人社 rosters use.

Source: GB/T 4658-2006 (replacing GB/T 4658-1984), whose two-digit classes are 10 研究生教育 (11 博士研究生毕业,
14 硕士研究生毕业), 20 大学本科教育, 30 大学专科教育, 40 中等职业教育 (41 中等专科, 44 职业高中, 47 技工学校),
60 普通高级中学教育, 70 初级中学教育, 80 小学教育 and 90 其他. The platform keeps the level a person reached
(graduated, or attended without graduating: rosters rarely say which), under the short names stations write;
"文盲" is the standard's 90 其他 for those who never went to school. 博士后 is a research post after a
doctorate, not a level of its own, so rosters that write it are read as 博士.

Declared here once; the person and job schemas, both imports and their templates read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# What a person's profile may say, lowest first.
Education = Literal["文盲", "小学", "初中", "高中", "中专", "技校", "大专", "本科", "硕士", "博士"]
# What a job may ask at least: any level a requirement can name, or none.
EducationMinimum = Literal["不限", "小学", "初中", "高中", "中专", "技校", "大专", "本科", "硕士", "博士"]


@dataclass(frozen=True)
class EducationLevel:
    name: str
    gb_code: str  # GB/T 4658-2006
    rank: int  # comparable across levels: 中专, 技校 and 高中 are one tier of upper-secondary schooling


LEVELS: tuple[EducationLevel, ...] = (
    EducationLevel("文盲", "90", 0),
    EducationLevel("小学", "80", 1),
    EducationLevel("初中", "70", 2),
    EducationLevel("高中", "60", 3),
    EducationLevel("中专", "41", 3),
    EducationLevel("技校", "47", 3),
    EducationLevel("大专", "30", 4),
    EducationLevel("本科", "20", 5),
    EducationLevel("硕士", "14", 6),
    EducationLevel("博士", "11", 7),
)
BY_NAME = {level.name: level for level in LEVELS}

PERSON_LEVELS: tuple[str, ...] = get_args(Education)
JOB_MINIMUMS: tuple[str, ...] = get_args(EducationMinimum)

# What people write for a level, mapped to its name here (the standard's own long names among them).
ALIASES: dict[str, str] = {
    "专科": "大专",
    "大学专科": "大专",
    "高职": "大专",
    "职高": "中专",
    "职业高中": "中专",
    "中职": "中专",
    "中等专科": "中专",
    "技工学校": "技校",
    "技工": "技校",
    "大学": "本科",
    "大学本科": "本科",
    "研究生": "硕士",
    "硕士研究生": "硕士",
    "博士研究生": "博士",
    "博士后": "博士",
    "普通高中": "高中",
    "未上学": "文盲",
    "半文盲": "文盲",
}
