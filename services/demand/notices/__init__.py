"""服务短信: text messages to workers for what matters to them (an eligibility to claim, an offer, a bus seat),
sent from demand because only demand holds their phones."""
