# weft-redis: an in-memory Redis (strings) on spec/resp.weft; docs/resp.md.
PROGRAMS += weft-redis
REDIS_SRCS = examples/redis/dict.c examples/redis/commands.c \
             examples/redis/client.c
weft-redis_SRCS = examples/redis/main.c $(REDIS_SRCS) $(CLI_SRCS)
weft-redis_SPECS := resp
