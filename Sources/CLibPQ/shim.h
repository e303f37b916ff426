#ifndef DQT_CLIBPQ_SHIM_H
#define DQT_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
