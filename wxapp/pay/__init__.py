"""The adapter to WeChat Pay v3: the client (wechatpayv3, public-key mode), its keys, and
checking a notification (signature, timestamp, serial, AES-GCM). The paid transition that
follows is order logic: `wxapp.orders.payment` and `wxapp.orders.settlement`."""
