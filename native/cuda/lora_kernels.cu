// CUDA LoRA kernels, built into node_peft_cuda.so only against a CUDA LibTorch and opened by loraCudaLoad
// (native/lora_cuda_loader.cc). The base product stays with cuBLAS (ATen); these add the low-rank term in place:
//   shrink: h[t, :] = x[t, :] @ A^T          (one block per token; warps over rank, lanes over `in`)
//   expand: y[t, o] += scale * h[t, :] . B[o, :]   (h row in shared memory; one thread per output feature)
// The grouped form (SGMV-style, as Punica) picks A, B and scale per token from its batch row's adapter, so a mixed
// batch of any number of adapters is two launches. Accumulation is float32 for every element type.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <c10/cuda/CUDAStream.h>

#include <cstdint>

namespace {

constexpr int kShrinkThreads = 256;
constexpr int kExpandThreads = 256;

template <typename T>
__device__ __forceinline__ float ToFloat(T v);
template <>
__device__ __forceinline__ float ToFloat<float>(float v) { return v; }
template <>
__device__ __forceinline__ float ToFloat<__half>(__half v) { return __half2float(v); }
template <>
__device__ __forceinline__ float ToFloat<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T FromFloat(float v);
template <>
__device__ __forceinline__ float FromFloat<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half FromFloat<__half>(float v) { return __float2half(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

// Which adapter token t uses: the single one (rowAdapter == nullptr) or its batch row's (-1 = none).
__device__ __forceinline__ int32_t AdapterOf(const int32_t* rowAdapter, int64_t t, int64_t seqLen) {
  return rowAdapter == nullptr ? 0 : rowAdapter[t / seqLen];
}

template <typename T>
__global__ void Shrink(const T* __restrict__ x, const T* const* As, const int32_t* rowAdapter, int64_t seqLen,
                       float* __restrict__ h, int64_t in, int64_t r) {
  const int64_t t = blockIdx.x;
  const int32_t adapter = AdapterOf(rowAdapter, t, seqLen);
  if (adapter < 0) return;
  const T* A = As[adapter];
  const T* xr = x + t * in;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int64_t k = warp; k < r; k += warps) {
    const T* ar = A + k * in;
    float acc = 0.f;
    for (int64_t i = lane; i < in; i += 32) acc += ToFloat(xr[i]) * ToFloat(ar[i]);
    for (int offset = 16; offset > 0; offset >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, offset);
    if (lane == 0) h[t * r + k] = acc;
  }
}

template <typename T>
__global__ void Expand(const float* __restrict__ h, const T* const* Bs, const float* scales, const int32_t* rowAdapter,
                       int64_t seqLen, T* __restrict__ y, int64_t r, int64_t out) {
  extern __shared__ float hRow[];
  const int64_t t = blockIdx.x;
  const int32_t adapter = AdapterOf(rowAdapter, t, seqLen);
  if (adapter < 0) return;  // uniform across the block: every thread shares t
  for (int64_t k = threadIdx.x; k < r; k += blockDim.x) hRow[k] = h[t * r + k];
  __syncthreads();
  const int64_t o = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (o >= out) return;
  const T* br = Bs[adapter] + o * r;
  float acc = 0.f;
  for (int64_t k = 0; k < r; ++k) acc += hRow[k] * ToFloat(br[k]);
  T* yp = y + t * out + o;
  *yp = FromFloat<T>(ToFloat(*yp) + scales[adapter] * acc);
}

template <typename T>
cudaError_t Launch(const void* x, const void* const* As, const void* const* Bs, const float* scales,
                   const int32_t* rowAdapter, int64_t seqLen, void* y, float* h, int64_t T_, int64_t in, int64_t r,
                   int64_t out, cudaStream_t stream) {
  if (T_ == 0 || out == 0) return cudaSuccess;
  Shrink<T><<<dim3(static_cast<unsigned>(T_)), kShrinkThreads, 0, stream>>>(
      static_cast<const T*>(x), reinterpret_cast<const T* const*>(As), rowAdapter, seqLen, h, in, r);
  dim3 grid(static_cast<unsigned>(T_), static_cast<unsigned>((out + kExpandThreads - 1) / kExpandThreads));
  Expand<T><<<grid, kExpandThreads, static_cast<size_t>(r) * sizeof(float), stream>>>(
      h, reinterpret_cast<const T* const*>(Bs), scales, rowAdapter, seqLen, static_cast<T*>(y), r, out);
  return cudaGetLastError();
}

cudaError_t Dispatch(int32_t dtype, const void* x, const void* const* As, const void* const* Bs, const float* scales,
                     const int32_t* rowAdapter, int64_t seqLen, void* y, float* h, int64_t T_, int64_t in, int64_t r,
                     int64_t out) {
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  switch (dtype) {
    case 0: return Launch<float>(x, As, Bs, scales, rowAdapter, seqLen, y, h, T_, in, r, out, stream);
    case 1: return Launch<__half>(x, As, Bs, scales, rowAdapter, seqLen, y, h, T_, in, r, out, stream);
    case 2: return Launch<__nv_bfloat16>(x, As, Bs, scales, rowAdapter, seqLen, y, h, T_, in, r, out, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace

// The C ABI the main addon looks up with dlsym (see native/lora_kernels.h for the contract).
extern "C" __attribute__((visibility("default"))) int32_t np_lora_low_rank_add(
    int32_t dtype, const void* x, const void* A, const void* B, void* y, float* h, int64_t T_, int64_t in, int64_t r,
    int64_t out, float scale) {
  // One adapter: its pointers and scale must be readable by the kernels, so they travel in device memory.
  struct Single {
    const void* A;
    const void* B;
    float scale;
  };
  Single* single = nullptr;
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  cudaError_t status = cudaMallocAsync(reinterpret_cast<void**>(&single), sizeof(Single), stream);
  if (status != cudaSuccess) return status;
  Single host{A, B, scale};
  status = cudaMemcpyAsync(single, &host, sizeof(Single), cudaMemcpyHostToDevice, stream);
  if (status == cudaSuccess) {
    status = Dispatch(dtype, x, &single->A, &single->B, &single->scale, nullptr, 1, y, h, T_, in, r, out);
  }
  cudaError_t freed = cudaFreeAsync(single, stream);
  return status != cudaSuccess ? status : freed;
}

extern "C" __attribute__((visibility("default"))) int32_t np_lora_grouped_low_rank_add(
    int32_t dtype, const void* x, const void* const* As, const void* const* Bs, const float* scales,
    const int32_t* rowAdapter, int64_t seqLen, void* y, float* h, int64_t T_, int64_t in, int64_t r, int64_t out) {
  if (rowAdapter == nullptr || seqLen <= 0) return cudaErrorInvalidValue;
  return Dispatch(dtype, x, As, Bs, scales, rowAdapter, seqLen, y, h, T_, in, r, out);
}
