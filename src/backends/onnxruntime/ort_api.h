// SPDX-License-Identifier: Apache-2.0
// The part of ONNX Runtime's C API the onnxruntime plugin uses, declared here from the documented
// API (onnxruntime_c_api.h, ORT_API_VERSION 20, ONNX Runtime 1.20): the opaque types, the enums'
// values, OrtApiBase, and the function table OrtApi in its exact order up to the last function
// the plugin uses (AddSessionConfigEntry). Entries the plugin does not call are kept as `void*`
// slots with their API names in a comment, so each called entry sits at its documented index.
//
// The table only ever grows at its end between releases, so this layout holds for every 1.x
// library that returns a table for version 20; the plugin nevertheless accepts only the exact
// version it was written for (kOrtLibraryVersion). Nothing here is linked: the library is
// dlopen()ed at model load and OrtGetApiBase is looked up with dlsym.
#pragma once

#include <cstddef>
#include <cstdint>

namespace inferd::ort {

inline constexpr uint32_t kOrtApiVersion = 20;
inline constexpr char kOrtLibraryVersion[] = "1.20.1";
inline constexpr char kOrtLibraryFilename[] = "libonnxruntime.so.1.20.1";

struct OrtEnv;
struct OrtStatus;
struct OrtMemoryInfo;
struct OrtSession;
struct OrtValue;
struct OrtRunOptions;
struct OrtTypeInfo;
struct OrtTensorTypeAndShapeInfo;
struct OrtSessionOptions;
struct OrtAllocator;  // the plugin only passes it back to the API (AllocatorFree)

enum ONNXTensorElementDataType : int {
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED = 0,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT = 1,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 = 2,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 = 3,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 = 4,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 = 5,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 = 6,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 = 7,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING = 8,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL = 9,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 = 10,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE = 11,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 = 12,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 = 13,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64 = 14,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX128 = 15,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 = 16,
};

enum ONNXType : int {
  ONNX_TYPE_UNKNOWN = 0,
  ONNX_TYPE_TENSOR = 1,
  ONNX_TYPE_SEQUENCE = 2,
  ONNX_TYPE_MAP = 3,
  ONNX_TYPE_OPAQUE = 4,
  ONNX_TYPE_SPARSETENSOR = 5,
  ONNX_TYPE_OPTIONAL = 6,
};

enum OrtLoggingLevel : int {
  ORT_LOGGING_LEVEL_VERBOSE = 0,
  ORT_LOGGING_LEVEL_INFO = 1,
  ORT_LOGGING_LEVEL_WARNING = 2,
  ORT_LOGGING_LEVEL_ERROR = 3,
  ORT_LOGGING_LEVEL_FATAL = 4,
};

enum OrtErrorCode : int {
  ORT_OK = 0,
  ORT_FAIL = 1,
  ORT_INVALID_ARGUMENT = 2,
  ORT_NO_SUCHFILE = 3,
  ORT_NO_MODEL = 4,
  ORT_ENGINE_ERROR = 5,
  ORT_RUNTIME_EXCEPTION = 6,
  ORT_INVALID_PROTOBUF = 7,
  ORT_MODEL_LOADED = 8,
  ORT_NOT_IMPLEMENTED = 9,
  ORT_INVALID_GRAPH = 10,
  ORT_EP_FAIL = 11,
};

enum GraphOptimizationLevel : int {
  ORT_DISABLE_ALL = 0,
  ORT_ENABLE_BASIC = 1,
  ORT_ENABLE_EXTENDED = 2,
  ORT_ENABLE_ALL = 99,
};

enum ExecutionMode : int {
  ORT_SEQUENTIAL = 0,
  ORT_PARALLEL = 1,
};

enum OrtAllocatorType : int {
  OrtInvalidAllocator = -1,
  OrtDeviceAllocator = 0,
  OrtArenaAllocator = 1,
};

enum OrtMemType : int {
  OrtMemTypeCPUInput = -2,
  OrtMemTypeCPUOutput = -1,
  OrtMemTypeDefault = 0,
};

// Every API function that can fail returns an OrtStatus*: nullptr on success, else a status the
// caller releases with ReleaseStatus.
using OrtStatusPtr = OrtStatus*;

struct OrtApi;

struct OrtApiBase {
  const OrtApi* (*GetApi)(uint32_t version) noexcept;
  const char* (*GetVersionString)() noexcept;
};

using OrtGetApiBaseFn = const OrtApiBase* (*)() noexcept;
inline constexpr char kOrtGetApiBaseSymbol[] = "OrtGetApiBase";

// Slots [index] the plugin does not call are `void*` named after the API function.
struct OrtApi {
  void* CreateStatus;                                                   // 0
  OrtErrorCode (*GetErrorCode)(const OrtStatus* status) noexcept;       // 1
  const char* (*GetErrorMessage)(const OrtStatus* status) noexcept;     // 2
  OrtStatusPtr (*CreateEnv)(OrtLoggingLevel level, const char* logid,  // 3
                            OrtEnv** out) noexcept;
  void* CreateEnvWithCustomLogger;                                      // 4
  void* EnableTelemetryEvents;                                          // 5
  void* DisableTelemetryEvents;                                         // 6
  OrtStatusPtr (*CreateSession)(const OrtEnv* env, const char* model_path,  // 7
                                const OrtSessionOptions* options, OrtSession** out) noexcept;
  OrtStatusPtr (*CreateSessionFromArray)(const OrtEnv* env, const void* model_data,  // 8
                                         size_t model_data_length,
                                         const OrtSessionOptions* options,
                                         OrtSession** out) noexcept;
  OrtStatusPtr (*Run)(OrtSession* session, const OrtRunOptions* run_options,  // 9
                      const char* const* input_names, const OrtValue* const* inputs,
                      size_t input_len, const char* const* output_names, size_t output_names_len,
                      OrtValue** outputs) noexcept;
  OrtStatusPtr (*CreateSessionOptions)(OrtSessionOptions** options) noexcept;  // 10
  void* SetOptimizedModelFilePath;                                             // 11
  void* CloneSessionOptions;                                                   // 12
  OrtStatusPtr (*SetSessionExecutionMode)(OrtSessionOptions* options,          // 13
                                          ExecutionMode mode) noexcept;
  void* EnableProfiling;              // 14
  void* DisableProfiling;             // 15
  void* EnableMemPattern;             // 16
  void* DisableMemPattern;            // 17
  void* EnableCpuMemArena;            // 18
  void* DisableCpuMemArena;           // 19
  void* SetSessionLogId;              // 20
  void* SetSessionLogVerbosityLevel;  // 21
  OrtStatusPtr (*SetSessionLogSeverityLevel)(OrtSessionOptions* options,  // 22
                                             int level) noexcept;
  OrtStatusPtr (*SetSessionGraphOptimizationLevel)(OrtSessionOptions* options,  // 23
                                                   GraphOptimizationLevel level) noexcept;
  OrtStatusPtr (*SetIntraOpNumThreads)(OrtSessionOptions* options, int threads) noexcept;  // 24
  OrtStatusPtr (*SetInterOpNumThreads)(OrtSessionOptions* options, int threads) noexcept;  // 25
  void* CreateCustomOpDomain;      // 26
  void* CustomOpDomain_Add;        // 27
  void* AddCustomOpDomain;         // 28
  void* RegisterCustomOpsLibrary;  // 29
  OrtStatusPtr (*SessionGetInputCount)(const OrtSession* session, size_t* out) noexcept;   // 30
  OrtStatusPtr (*SessionGetOutputCount)(const OrtSession* session, size_t* out) noexcept;  // 31
  void* SessionGetOverridableInitializerCount;                                             // 32
  OrtStatusPtr (*SessionGetInputTypeInfo)(const OrtSession* session, size_t index,         // 33
                                          OrtTypeInfo** type_info) noexcept;
  OrtStatusPtr (*SessionGetOutputTypeInfo)(const OrtSession* session, size_t index,  // 34
                                           OrtTypeInfo** type_info) noexcept;
  void* SessionGetOverridableInitializerTypeInfo;  // 35
  OrtStatusPtr (*SessionGetInputName)(const OrtSession* session, size_t index,  // 36
                                      OrtAllocator* allocator, char** value) noexcept;
  OrtStatusPtr (*SessionGetOutputName)(const OrtSession* session, size_t index,  // 37
                                       OrtAllocator* allocator, char** value) noexcept;
  void* SessionGetOverridableInitializerName;                        // 38
  OrtStatusPtr (*CreateRunOptions)(OrtRunOptions** out) noexcept;    // 39
  void* RunOptionsSetRunLogVerbosityLevel;                           // 40
  void* RunOptionsSetRunLogSeverityLevel;                            // 41
  void* RunOptionsSetRunTag;                                         // 42
  void* RunOptionsGetRunLogVerbosityLevel;                           // 43
  void* RunOptionsGetRunLogSeverityLevel;                            // 44
  void* RunOptionsGetRunTag;                                         // 45
  OrtStatusPtr (*RunOptionsSetTerminate)(OrtRunOptions* options) noexcept;    // 46
  OrtStatusPtr (*RunOptionsUnsetTerminate)(OrtRunOptions* options) noexcept;  // 47
  OrtStatusPtr (*CreateTensorAsOrtValue)(OrtAllocator* allocator, const int64_t* shape,  // 48
                                         size_t shape_len, ONNXTensorElementDataType type,
                                         OrtValue** out) noexcept;
  OrtStatusPtr (*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo* info, void* p_data,  // 49
                                                 size_t p_data_len, const int64_t* shape,
                                                 size_t shape_len,
                                                 ONNXTensorElementDataType type,
                                                 OrtValue** out) noexcept;
  void* IsTensor;                                                                      // 50
  OrtStatusPtr (*GetTensorMutableData)(OrtValue* value, void** out) noexcept;          // 51
  OrtStatusPtr (*FillStringTensor)(OrtValue* value, const char* const* s,              // 52
                                   size_t s_len) noexcept;
  OrtStatusPtr (*GetStringTensorDataLength)(const OrtValue* value, size_t* len) noexcept;  // 53
  OrtStatusPtr (*GetStringTensorContent)(const OrtValue* value, void* s, size_t s_len,     // 54
                                         size_t* offsets, size_t offsets_len) noexcept;
  OrtStatusPtr (*CastTypeInfoToTensorInfo)(const OrtTypeInfo* type_info,  // 55
                                           const OrtTensorTypeAndShapeInfo** out) noexcept;
  OrtStatusPtr (*GetOnnxTypeFromTypeInfo)(const OrtTypeInfo* type_info,  // 56
                                          ONNXType* out) noexcept;
  void* CreateTensorTypeAndShapeInfo;  // 57
  void* SetTensorElementType;          // 58
  void* SetDimensions;                 // 59
  OrtStatusPtr (*GetTensorElementType)(const OrtTensorTypeAndShapeInfo* info,  // 60
                                       ONNXTensorElementDataType* out) noexcept;
  OrtStatusPtr (*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo* info,  // 61
                                     size_t* out) noexcept;
  OrtStatusPtr (*GetDimensions)(const OrtTensorTypeAndShapeInfo* info, int64_t* dim_values,  // 62
                                size_t dim_values_length) noexcept;
  OrtStatusPtr (*GetSymbolicDimensions)(const OrtTensorTypeAndShapeInfo* info,  // 63
                                        const char* dim_params[],
                                        size_t dim_params_length) noexcept;
  void* GetTensorShapeElementCount;  // 64
  OrtStatusPtr (*GetTensorTypeAndShape)(const OrtValue* value,  // 65
                                        OrtTensorTypeAndShapeInfo** out) noexcept;
  void* GetTypeInfo;       // 66
  void* GetValueType;      // 67
  void* CreateMemoryInfo;  // 68
  OrtStatusPtr (*CreateCpuMemoryInfo)(OrtAllocatorType type, OrtMemType mem_type,  // 69
                                      OrtMemoryInfo** out) noexcept;
  void* CompareMemoryInfo;     // 70
  void* MemoryInfoGetName;     // 71
  void* MemoryInfoGetId;       // 72
  void* MemoryInfoGetMemType;  // 73
  void* MemoryInfoGetType;     // 74
  void* AllocatorAlloc;        // 75
  OrtStatusPtr (*AllocatorFree)(OrtAllocator* allocator, void* p) noexcept;  // 76
  void* AllocatorGetInfo;                                                    // 77
  OrtStatusPtr (*GetAllocatorWithDefaultOptions)(OrtAllocator** out) noexcept;  // 78
  void* AddFreeDimensionOverride;       // 79
  void* GetValue;                       // 80
  void* GetValueCount;                  // 81
  void* CreateValue;                    // 82
  void* CreateOpaqueValue;              // 83
  void* GetOpaqueValue;                 // 84
  void* KernelInfoGetAttribute_float;   // 85
  void* KernelInfoGetAttribute_int64;   // 86
  void* KernelInfoGetAttribute_string;  // 87
  void* KernelContext_GetInputCount;    // 88
  void* KernelContext_GetOutputCount;   // 89
  void* KernelContext_GetInput;         // 90
  void* KernelContext_GetOutput;        // 91
  void (*ReleaseEnv)(OrtEnv* object) noexcept;                                  // 92
  void (*ReleaseStatus)(OrtStatus* object) noexcept;                            // 93
  void (*ReleaseMemoryInfo)(OrtMemoryInfo* object) noexcept;                    // 94
  void (*ReleaseSession)(OrtSession* object) noexcept;                          // 95
  void (*ReleaseValue)(OrtValue* object) noexcept;                              // 96
  void (*ReleaseRunOptions)(OrtRunOptions* object) noexcept;                    // 97
  void (*ReleaseTypeInfo)(OrtTypeInfo* object) noexcept;                        // 98
  void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo* object) noexcept;  // 99
  void (*ReleaseSessionOptions)(OrtSessionOptions* object) noexcept;            // 100
  void* ReleaseCustomOpDomain;                  // 101
  void* GetDenotationFromTypeInfo;              // 102
  void* CastTypeInfoToMapTypeInfo;              // 103
  void* CastTypeInfoToSequenceTypeInfo;         // 104
  void* GetMapKeyType;                          // 105
  void* GetMapValueType;                        // 106
  void* GetSequenceElementType;                 // 107
  void* ReleaseMapTypeInfo;                     // 108
  void* ReleaseSequenceTypeInfo;                // 109
  void* SessionEndProfiling;                    // 110
  void* SessionGetModelMetadata;                // 111
  void* ModelMetadataGetProducerName;           // 112
  void* ModelMetadataGetGraphName;              // 113
  void* ModelMetadataGetDomain;                 // 114
  void* ModelMetadataGetDescription;            // 115
  void* ModelMetadataLookupCustomMetadataMap;   // 116
  void* ModelMetadataGetVersion;                // 117
  void* ReleaseModelMetadata;                   // 118
  void* CreateEnvWithGlobalThreadPools;         // 119
  void* DisablePerSessionThreads;               // 120
  void* CreateThreadingOptions;                 // 121
  void* ReleaseThreadingOptions;                // 122
  void* ModelMetadataGetCustomMetadataMapKeys;  // 123
  void* AddFreeDimensionOverrideByName;         // 124
  void* GetAvailableProviders;                  // 125
  void* ReleaseAvailableProviders;              // 126
  void* GetStringTensorElementLength;           // 127
  void* GetStringTensorElement;                 // 128
  void* FillStringTensorElement;                // 129
  OrtStatusPtr (*AddSessionConfigEntry)(OrtSessionOptions* options, const char* key,  // 130
                                        const char* value) noexcept;
  // The table continues (CreateAllocator, ...); nothing past this point is used.
};

static_assert(offsetof(OrtApi, GetErrorMessage) == 2 * sizeof(void*));
static_assert(offsetof(OrtApi, CreateSessionOptions) == 10 * sizeof(void*));
static_assert(offsetof(OrtApi, SessionGetInputCount) == 30 * sizeof(void*));
static_assert(offsetof(OrtApi, CreateRunOptions) == 39 * sizeof(void*));
static_assert(offsetof(OrtApi, CreateTensorAsOrtValue) == 48 * sizeof(void*));
static_assert(offsetof(OrtApi, CastTypeInfoToTensorInfo) == 55 * sizeof(void*));
static_assert(offsetof(OrtApi, GetTensorElementType) == 60 * sizeof(void*));
static_assert(offsetof(OrtApi, CreateCpuMemoryInfo) == 69 * sizeof(void*));
static_assert(offsetof(OrtApi, AllocatorFree) == 76 * sizeof(void*));
static_assert(offsetof(OrtApi, ReleaseEnv) == 92 * sizeof(void*));
static_assert(offsetof(OrtApi, ReleaseSessionOptions) == 100 * sizeof(void*));
static_assert(offsetof(OrtApi, AddSessionConfigEntry) == 130 * sizeof(void*));

}  // namespace inferd::ort
