/* fuzz_chat.c — libFuzzer target: the chat parser (nick line, then message
 * lines) gives the same trace however its input is split. */
#include <stddef.h>
#include <stdint.h>

#include "chat_trace.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return chat_trace_fuzz(data, size);
}
