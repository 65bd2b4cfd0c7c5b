from wxapp.app import create_app, freeze_startup_heap

app = create_app()
freeze_startup_heap()  # gunicorn workers: full collections stalled requests (performance.md)
