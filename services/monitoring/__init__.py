"""monitoring: anonymous facts from every service's events, and the figures officials dispatch the work by
(就业规模, 稳定就业, 服务漏斗, 培训, 直通车, 预警, 协作目标)."""
