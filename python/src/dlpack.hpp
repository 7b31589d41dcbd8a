#pragma once
/// \file dlpack.hpp
/// The DLPack exchange structs (data layout of the public DLPack specification, version 0.x, the
/// "dltensor" capsule protocol of `__dlpack__`), written out here from the specification so the
/// binding needs no third-party header. Only what a consumer of CPU tensors reads is named.

#include <cstdint>

namespace act_python::dlpack {

/// DLDeviceType: where the memory lives. Only the CPU is read here.
enum device_type : std::int32_t {
  cpu = 1,
  cuda = 2,
  cuda_host = 3,
};

/// DLDevice
struct device {
  std::int32_t type;  ///< a device_type value
  std::int32_t id;
};

/// DLDataTypeCode
enum type_code : std::uint8_t {
  signed_int = 0,
  unsigned_int = 1,
  floating = 2,
  opaque_handle = 3,
  bfloat = 4,
  complex = 5,
  boolean = 6,
};

/// DLDataType: `bits` per lane, `lanes` per element (1 for ordinary arrays).
struct data_type {
  std::uint8_t code;
  std::uint8_t bits;
  std::uint16_t lanes;
};

/// DLTensor. `strides` counts elements, not bytes; a null `strides` means compact row-major.
struct tensor {
  void* data;
  device dev;
  std::int32_t ndim;
  data_type dtype;
  std::int64_t* shape;
  std::int64_t* strides;
  std::uint64_t byte_offset;
};

/// DLManagedTensor: the tensor plus the producer's context and the deleter the consumer calls when done.
struct managed_tensor {
  tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(managed_tensor* self);
};

/// Capsule names of the protocol: a fresh capsule is "dltensor"; the consumer renames it
/// "used_dltensor" when it takes ownership, so the capsule's destructor leaves the tensor alone.
inline constexpr const char* capsule_name = "dltensor";
inline constexpr const char* used_capsule_name = "used_dltensor";

}  // namespace act_python::dlpack
