from wxapp import create_app

app = create_app()
