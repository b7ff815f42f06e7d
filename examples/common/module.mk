# Shared command-line helpers of the example programs (cli.h): a program
# adds $(CLI_SRCS) to its _SRCS and includes "../common/cli.h".
# Fragments are included in sorted path order, so a fragment that sorts
# before this one (examples/chat/...) must use a recursive assignment:
#     weft-chat_SRCS = examples/chat/main.c $(CLI_SRCS)
CLI_SRCS := examples/common/cli.c
# Output flow control (flow.h) for servers that stop reading from a peer
# that does not read: add $(FLOW_SRCS) and include "../common/flow.h".
FLOW_SRCS := examples/common/flow.c
