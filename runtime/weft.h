/* weft.h — the public umbrella header of libweft. */
#ifndef WEFT_H
#define WEFT_H

#define WEFT_VERSION "0.1.0"

#include "error.h"
#include "reactor.h"
#include "factory.h"
#include "conn.h"
#include "endpoint.h"
#include "memconn.h"
#include "lines.h"

#endif
