// Tensor factories, metadata and host access. Views and backward live in autograd/ (see tensor.h).
#include "core/tensor.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "core/backend_table.h"
#include "core/dispatch.h"
#include "core/grad_mode.h"
#include "core/object_pool.h"
#include "core/tensor_impl.h"

namespace minidl {

namespace {

void check_sizes(const Shape& shape, const char* op) {
  for (int64_t d : shape) check(d >= 0, op, ": negative dimension ", d, " in shape ", shape);
  shape.numel();  // throws on overflow
}

void apply_requires_grad(Tensor& t, const TensorOptions& options) {
  if (options.requires_grad) t.set_requires_grad(true);
}

// A tensor filled from host values (factories generate on the host, then upload once).
template <class T>
Tensor upload(const std::vector<T>& host, const Shape& shape, DType dtype, Device device) {
  Tensor t = detail::make_tensor(shape, dtype, device);
  if (!host.empty())
    backend_for(device).copy_from_host(detail::impl_of(t)->storage->data(), host.data(), host.size() * 4);
  return t;
}

}  // namespace

namespace detail {

Tensor make_tensor(const Shape& shape, DType dtype, Device device) {
  const int64_t numel = shape.numel();
  check(numel <= INT64_MAX / static_cast<int64_t>(element_size(dtype)), "Tensor: shape ", shape,
        " needs more than 2^63 bytes");
  auto impl = std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>{});
  impl->storage =
      std::allocate_shared<Storage>(PoolAllocator<Storage>{}, static_cast<size_t>(numel) * element_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>{});
  impl->storage = detail::impl_of(base)->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

}  // namespace detail

// ---- factories

Tensor Tensor::from_vector(std::vector<float> values, Shape shape, bool requires_grad) {
  check_sizes(shape, "from_vector");
  check(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
        " values do not fill shape ", shape, " (", shape.numel(), " elements)");
  Tensor t = upload(values, shape, DType::float32, Device::cpu());
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor Tensor::from_vector(std::vector<int32_t> values, Shape shape) {
  check_sizes(shape, "from_vector");
  check(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
        " values do not fill shape ", shape, " (", shape.numel(), " elements)");
  return upload(values, shape, DType::int32, Device::cpu());
}

Tensor Tensor::empty(Shape shape, TensorOptions options) {
  check_sizes(shape, "empty");
  Tensor t = detail::make_tensor(shape, options.dtype, options.device);
  apply_requires_grad(t, options);
  return t;
}

Tensor Tensor::full(Shape shape, float value, TensorOptions options) {
  check_sizes(shape, "full");
  Tensor t = detail::make_tensor(shape, options.dtype, options.device);
  dispatch::fill(t, value);
  apply_requires_grad(t, options);
  return t;
}

Tensor Tensor::zeros(Shape shape, TensorOptions options) { return full(shape, 0.f, options); }
Tensor Tensor::ones(Shape shape, TensorOptions options) { return full(shape, 1.f, options); }

Tensor Tensor::arange(int64_t end, TensorOptions options) { return arange(0, end, 1, options); }

Tensor Tensor::arange(int64_t start, int64_t end, int64_t step, TensorOptions options) {
  check(step != 0, "arange: step must be non-zero");
  // In unsigned arithmetic, where end − start and i·step cannot overflow: arange(INT64_MIN,
  // INT64_MAX) has 2^64 − 1 elements, which (end − start) in int64 turned into an empty tensor.
  const auto ustart = static_cast<uint64_t>(start), uend = static_cast<uint64_t>(end);
  const uint64_t magnitude = step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  uint64_t n = 0;
  if (step > 0 && end > start) n = (uend - ustart - 1) / magnitude + 1;
  if (step < 0 && end < start) n = (ustart - uend - 1) / magnitude + 1;
  check(n <= uint64_t{INT64_MAX} / 4, "arange: [", start, ", ", end, ") in steps of ", step, " has ", n,
        " elements, more than a tensor can hold");
  const auto value = [&](uint64_t i) { return static_cast<int64_t>(ustart + i * static_cast<uint64_t>(step)); };
  if (options.dtype == DType::int32 && n > 0) {
    const int64_t lo = std::min(value(0), value(n - 1)), hi = std::max(value(0), value(n - 1));
    check(lo >= INT32_MIN && hi <= INT32_MAX, "arange: range [", start, ", ", end, ") does not fit int32");
  }
  // Filled in place on the host (no vector of n values first: a huge n fails in the allocator, with an
  // Error), then moved to the device.
  Tensor t = detail::make_tensor({static_cast<int64_t>(n)}, options.dtype, Device::cpu());
  if (options.dtype == DType::float32) {
    float* v = t.data<float>();
    for (uint64_t i = 0; i < n; ++i) v[i] = static_cast<float>(value(i));
  } else {
    int32_t* v = t.data<int32_t>();
    for (uint64_t i = 0; i < n; ++i) v[i] = static_cast<int32_t>(value(i));
  }
  if (!options.device.is_cpu()) t = dispatch::to_device(t, options.device);
  apply_requires_grad(t, options);
  return t;
}

Tensor Tensor::randn(Shape shape, Generator& gen, TensorOptions options) {
  check_sizes(shape, "randn");
  check(options.dtype == DType::float32, "randn: samples are float32, asked for ", options.dtype);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); i += 2) {
    const auto z = gen.normal_pair();
    v[i] = static_cast<float>(z[0]);
    if (i + 1 < v.size()) v[i + 1] = static_cast<float>(z[1]);
  }
  Tensor t = upload(v, shape, DType::float32, options.device);
  apply_requires_grad(t, options);
  return t;
}

Tensor Tensor::uniform(Shape shape, float lo, float hi, Generator& gen, TensorOptions options) {
  check_sizes(shape, "uniform");
  check(options.dtype == DType::float32, "uniform: samples are float32, asked for ", options.dtype);
  check(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "uniform: need finite lo <= hi, got [", lo, ", ", hi, ")");
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  const float below_hi = hi > lo ? std::nextafter(hi, lo) : hi;  // lo + (hi − lo)·u can round up to hi
  for (float& x : v) x = std::min(lo + (hi - lo) * gen.uniform(), below_hi);
  Tensor t = upload(v, shape, DType::float32, options.device);
  apply_requires_grad(t, options);
  return t;
}

// ---- metadata

void* Tensor::checked_data(DType want) const {
  const TensorImpl& t = get();
  check(t.dtype == want, "Tensor::data: tensor is ", t.dtype, ", asked for ", want);
  check(t.storage->device().is_cpu(), "Tensor::data: tensor is on ", t.storage->device(),
        "; host pointers exist only for CPU tensors");
  return static_cast<char*>(t.storage->data()) + t.offset * static_cast<int64_t>(element_size(t.dtype));
}

const TensorImpl& Tensor::get() const {
  check(impl_ != nullptr, "Tensor: this tensor is undefined (default-constructed, or a grad() never computed)");
  return *impl_;
}

const Shape& Tensor::shape() const { return get().shape; }
const Shape& Tensor::strides() const { return get().strides; }
int64_t Tensor::offset() const { return get().offset; }
DType Tensor::dtype() const { return get().dtype; }
Device Tensor::device() const { return get().storage->device(); }

int64_t Tensor::size(int64_t dim) const { return shape()[normalize_dim(dim, shape(), "size")]; }

bool Tensor::is_contiguous() const {
  const TensorImpl& t = get();
  int64_t expected = 1;
  for (int d = t.shape.size() - 1; d >= 0; --d) {
    if (t.shape[d] == 0) return true;
    if (t.shape[d] != 1 && t.strides[d] != expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

void* Tensor::data_ptr() const {
  const TensorImpl& t = get();
  return static_cast<unsigned char*>(t.storage->data()) + t.offset * static_cast<int64_t>(element_size(t.dtype));
}

bool Tensor::shares_storage(const Tensor& other) const { return get().storage == other.get().storage; }

uint64_t Tensor::version() const { return get().storage->version(); }

// ---- data

std::vector<float> Tensor::to_vector() const {
  Tensor t = dispatch::contiguous(dtype() == DType::float32 ? *this : dispatch::cast(*this, DType::float32));
  std::vector<float> out(static_cast<size_t>(t.numel()));
  if (!out.empty()) backend_for(t.device()).copy_to_host(out.data(), t.data_ptr(), out.size() * 4);
  return out;
}

std::vector<int32_t> Tensor::to_int_vector() const {
  check(dtype() == DType::int32, "to_int_vector: tensor is ", dtype(), " ", shape(),
        "; convert it with to(DType::int32) first");
  Tensor t = dispatch::contiguous(*this);
  std::vector<int32_t> out(static_cast<size_t>(t.numel()));
  if (!out.empty()) backend_for(t.device()).copy_to_host(out.data(), t.data_ptr(), out.size() * 4);
  return out;
}

float Tensor::item() const {
  check(numel() == 1, "item: expected a tensor with one element, got shape ", shape());
  if (dtype() == DType::int32) return static_cast<float>(to_int_vector()[0]);
  // One element copied straight out: no vector, so reading the loss every step allocates nothing.
  float value;
  backend_for(device()).copy_to_host(&value, data_ptr(), sizeof value);
  return value;
}

Tensor Tensor::to(DType dtype) const { return dispatch::cast(*this, dtype); }

// ---- in-place updates

namespace {

void check_in_place(const Tensor& t, const char* op) {
  check(!(is_grad_enabled() && t.requires_grad()), op, ": in-place update of a ", t.shape(),
        " tensor that requires grad while grad mode is on; do it inside a NoGradGuard (as optimizers do)");
}

// `src` seen with the shape of `like`, repeating along broadcast dims (stride 0): no copy.
Tensor broadcast_view(const Tensor& src, const Tensor& like, const char* op) {
  const Shape& shape = like.shape();
  check(broadcast_shapes(src.shape(), shape, op) == shape, op, ": cannot broadcast shape ", src.shape(), " to ", shape);
  Shape strides = shape;
  const int lead = shape.size() - src.dim();
  for (int d = 0; d < shape.size(); ++d)
    strides[d] = d < lead || src.shape()[d - lead] == 1 ? 0 : src.strides()[d - lead];
  return detail::make_view(src, shape, strides, src.offset());
}

}  // namespace

const Tensor& Tensor::copy_(const Tensor& src) const {
  check_in_place(*this, "copy_");
  dispatch::check_defined(src, "copy_");
  Tensor from = src.device() != device()    ? dispatch::to_device(src, device())
                : src.shares_storage(*this) ? dispatch::copy(src)
                                            : src;
  dispatch::copy_into(*this, broadcast_view(from, *this, "copy_"), "copy_");
  return *this;
}

const Tensor& Tensor::fill_(float value) const {
  check_in_place(*this, "fill_");
  if (is_contiguous()) {
    dispatch::fill(*this, value);
  } else {
    dispatch::copy_into(*this, broadcast_view(full({}, value, {.dtype = dtype(), .device = device()}), *this, "fill_"),
                        "fill_");
  }
  return *this;
}

const Tensor& Tensor::add_(const Tensor& other, float alpha) const {
  check_in_place(*this, "add_");
  dispatch::check_float(other, "add_");
  const Tensor scaled = alpha == 1.f ? other
                                     : dispatch::binary(dispatch::BinaryOp::mul, other,
                                                        full({}, alpha, {.device = other.device()}), "add_");
  dispatch::binary_into(dispatch::BinaryOp::add, *this, *this, scaled, "add_");
  return *this;
}

const Tensor& Tensor::mul_(float factor) const {
  check_in_place(*this, "mul_");
  dispatch::binary_into(dispatch::BinaryOp::mul, *this, *this, full({}, factor, {.device = device()}), "mul_");
  return *this;
}

void Tensor::set_data(const Tensor& src) const {
  dispatch::check_defined(*this, "set_data");
  dispatch::check_defined(src, "set_data");
  TensorImpl& t = *impl_;
  check(t.grad_fn == nullptr, "set_data: only a leaf tensor's data can be replaced; this ", t.shape,
        " tensor was produced by an op");
  check(src.shape() == t.shape && src.dtype() == t.dtype, "set_data: new data ", src.dtype(), " ", src.shape(),
        " does not match tensor ", t.dtype, " ", t.shape);
  t.storage = detail::impl_of(src)->storage;
  t.strides = src.strides();
  t.offset = src.offset();
  t.grad = Tensor{};
}

// ---- autograd state

bool Tensor::requires_grad() const { return get().requires_grad; }

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  const TensorImpl& t = get();
  check(t.grad_fn == nullptr, "set_requires_grad: only leaf tensors can change requires_grad; this ", t.shape,
        " tensor was produced by an op (detach() makes a leaf)");
  check(!requires_grad || t.dtype == DType::float32, "set_requires_grad: only float32 tensors can require grad, got ",
        t.dtype, " ", t.shape);
  impl_->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return get().grad; }

void Tensor::set_grad(const Tensor& grad) {
  get();
  if (grad.defined())
    check(grad.shape() == shape() && grad.dtype() == dtype() && grad.device() == device(), "set_grad: gradient ",
          grad.dtype(), " ", grad.shape(), " on ", grad.device(), " does not match tensor ", dtype(), " ", shape(),
          " on ", device());
  impl_->grad = grad;
}

bool Tensor::is_leaf() const { return get().grad_fn == nullptr; }

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const { return get().grad_fn; }

Tensor Tensor::detach() const {
  const TensorImpl& t = get();
  return detail::make_view(*this, t.shape, t.strides, t.offset);
}

}  // namespace minidl
