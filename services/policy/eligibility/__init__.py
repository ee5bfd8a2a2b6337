"""拟享受政策对象清单: who meets each item, since when and on what facts, and the officers' work on each claim."""
