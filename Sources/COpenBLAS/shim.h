#ifndef ONSR_COPENBLAS_SHIM_H
#define ONSR_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
