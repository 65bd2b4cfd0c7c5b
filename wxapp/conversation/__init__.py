"""What the official account says: the menu, and the replies to clicks, keywords and
subscribe events that arrive at `/wechat`."""
