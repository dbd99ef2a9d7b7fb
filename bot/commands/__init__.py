"""Reader commands of the bot, one module per concern; wired in `bot.app`.

Handlers are thin and typed: they read the reader's language, call a query in
`news/`, render with `html.escape` and reply. Shared pieces are in `common`.
"""
