#ifndef ONSR_CONEDNN_SHIM_H
#define ONSR_CONEDNN_SHIM_H
/* oneDNN's C API (Debian libdnnl-dev). What Swift cannot import from it, function-like and pointer-valued
   macros, is re-exported here as static inline functions. */
#include <dnnl.h>

/* Memory objects created with no buffer: the engine binds its own tensors before every execution. */
static inline void *onsr_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

/* The execution argument of the binary post-op at position `index` (its second source). */
static inline int onsr_dnnl_arg_post_op_src1(int index) { return DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1; }
#endif
