"""stations: the labour liaison stations Jiangsu runs in origin provinces."""
