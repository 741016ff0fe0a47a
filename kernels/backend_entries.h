// The entries of kernels::Backend, declared once for every backend. A backend includes this file
// *inside its own namespace* (minidl::kernels::cpu, minidl::kernels::cuda), which declares its
// functions under the table's names, and builds its table with entry_table(). A new entry is added
// here and in backend.h; a backend that does not define it then fails to link, so the backends
// cannot drift apart. Deliberately without include guard or includes: kernels/backend.h comes first.

void* allocate(size_t bytes);
void deallocate(void* ptr, size_t bytes);
void copy_from_host(void* dst, const void* host_src, size_t bytes);
void copy_to_host(void* host_dst, const void* src, size_t bytes);

void fill(void* out, int64_t n, uint32_t bits);
void copy(void* dst, const void* src, const CopyLayout& layout);
void gather_rows(void* out, const void* in, const int32_t* rows, int64_t n_rows, int64_t row_elems);
void cast_int32_to_float32(float* out, const int32_t* in, int64_t n);
void cast_float32_to_int32(int32_t* out, const float* in, int64_t n);

void unary(UnaryOp op, float* out, const float* in, int64_t n);
void binary(BinaryOp op, float* out, const float* a, const float* b, const BinaryLayout& layout);

void sum(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner);
void max(float* out, int32_t* indices, const float* in, int64_t outer, int64_t reduce, int64_t inner);
void max_backward(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t reduce,
                  int64_t inner);
double sum_squares(const float* x, int64_t n);
double dot(const float* a, const float* b, int64_t n);

void softmax(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner, bool log);
void softmax_backward(float* dx, const float* y, const float* dy, int64_t outer, int64_t reduce, int64_t inner,
                      bool log);
void cross_entropy_forward(float* loss, float* probs, const float* logits, const int32_t* targets, int64_t n,
                           int64_t c);
void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* targets, const float* dloss, int64_t n,
                            int64_t c);

void bias_activation(float* y, const float* bias, int64_t rows, int64_t cols, Activation act);
void bias_activation_backward(float* dz, float* dbias, const float* y, const float* dy, int64_t rows, int64_t cols,
                              Activation act);
// ---- optimizer
void sgd_step(const SgdTensor* tensors, int64_t count, const SgdHyper& hyper);
void adam_step(const OptimTensor* tensors, int64_t count, const AdamHyper& hyper);
void rmsprop_step(const OptimTensor* tensors, int64_t count, const RMSpropHyper& hyper);
void adagrad_step(const OptimTensor* tensors, int64_t count, const AdagradHyper& hyper);

void gemm(int64_t batch, int64_t m, int64_t n, int64_t k, GemmOperand a, GemmOperand b, float* c, int64_t ldc,
          int64_t c_batch_stride, float beta);

void im2col(float* col, const float* x, int64_t batch, int64_t channels, const Window2d& w);
void col2im(float* dx, const float* col, int64_t batch, int64_t channels, const Window2d& w);
void conv_output(float* y, const float* yt, const float* bias, int64_t batch, int64_t channels, int64_t l,
                 Activation act);
void conv_output_backward(float* dzt, float* dbias, const float* y, const float* dy, int64_t batch, int64_t channels,
                          int64_t l, Activation act);
void conv_max_pool2d(float* pooled, int32_t* indices, const float* yt, const float* bias, int64_t batch,
                     int64_t channels, const Window2d& pool, Activation act);
void conv_max_pool2d_backward(float* dzt, float* dbias, const float* pooled, const int32_t* indices, const float* dy,
                              int64_t batch, int64_t channels, const Window2d& pool, Activation act);
void max_pool2d(float* out, int32_t* indices, const float* x, int64_t planes, const Window2d& w);
void max_pool2d_backward(float* dx, const float* dy, const int32_t* indices, int64_t planes, const Window2d& w);
void avg_pool2d(float* out, const float* x, int64_t planes, const Window2d& w);
void avg_pool2d_backward(float* dx, const float* dy, int64_t planes, const Window2d& w);
void batch_norm_forward(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                        const float* x, const float* weight, const float* bias, int64_t n, int64_t c, int64_t inner,
                        bool training, float momentum, float eps);
void batch_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* save_mean, const float* save_invstd, int64_t n, int64_t c, int64_t inner,
                         bool training);
void dropout_mask(float* mask, int64_t n, uint64_t seed, float p);

/// This backend's table: every entry above under its name.
inline Backend entry_table(const char* name) {
  return Backend{
      .name = name,
      .allocate = allocate,
      .deallocate = deallocate,
      .copy_from_host = copy_from_host,
      .copy_to_host = copy_to_host,
      .fill = fill,
      .copy = copy,
      .gather_rows = gather_rows,
      .cast_int32_to_float32 = cast_int32_to_float32,
      .cast_float32_to_int32 = cast_float32_to_int32,
      .unary = unary,
      .binary = binary,
      .sum = sum,
      .max = max,
      .max_backward = max_backward,
      .sum_squares = sum_squares,
      .dot = dot,
      .softmax = softmax,
      .softmax_backward = softmax_backward,
      .cross_entropy_forward = cross_entropy_forward,
      .cross_entropy_backward = cross_entropy_backward,
      .bias_activation = bias_activation,
      .bias_activation_backward = bias_activation_backward,
      .sgd_step = sgd_step,
      .adam_step = adam_step,
      .rmsprop_step = rmsprop_step,
      .adagrad_step = adagrad_step,
      .gemm = gemm,
      .im2col = im2col,
      .col2im = col2im,
      .conv_output = conv_output,
      .conv_output_backward = conv_output_backward,
      .conv_max_pool2d = conv_max_pool2d,
      .conv_max_pool2d_backward = conv_max_pool2d_backward,
      .max_pool2d = max_pool2d,
      .max_pool2d_backward = max_pool2d_backward,
      .avg_pool2d = avg_pool2d,
      .avg_pool2d_backward = avg_pool2d_backward,
      .batch_norm_forward = batch_norm_forward,
      .batch_norm_backward = batch_norm_backward,
      .dropout_mask = dropout_mask,
  };
}
