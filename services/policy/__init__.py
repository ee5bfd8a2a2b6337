"""policy: the dated policy catalogue (政策清单) with its conditions as rules over anonymous facts."""
