"""Other channels (Open311 GeoReport v2): the 12345 hotline, a web form, a mini-program.

``models`` holds the tables (a channel and its hashed key, what each appeal a channel
filed carries about its caller, building coordinates), ``keys`` the API keys,
``rules`` who may manage a channel and what a key may file and read, ``service`` the
channels themselves, ``intake`` filing an appeal for a channel through the appeals'
own service, ``reads`` the scoped reads a channel makes and ``records`` what an appeal
reads as in GeoReport's terms."""
