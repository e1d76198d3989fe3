// SPDX-License-Identifier: Apache-2.0
#include "backends/backend_loader.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(BackendLoader, OpensTheBuiltinPluginOnce) {
  BackendLoader loader({.backend_directory = INFERD_TEST_BACKEND_DIR});
  EXPECT_FALSE(loader.IsOpen("builtin"));
  absl::StatusOr<Backend*> first = loader.Get("builtin");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_NE(*first, nullptr);
  EXPECT_TRUE(loader.IsOpen("builtin"));
  absl::StatusOr<Backend*> second = loader.Get("builtin");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
}

TEST(BackendLoader, DefaultDirectoryIsBackendsBesideTheBinDirectory) {
  // Test binaries are built into <build>/bin, so the default is the build's backends folder.
  BackendLoader loader({});
  EXPECT_TRUE(std::filesystem::equivalent(loader.backend_directory(), INFERD_TEST_BACKEND_DIR))
      << loader.backend_directory();
  EXPECT_TRUE(loader.Get("builtin").ok());
}

TEST(BackendLoader, UnknownBackendIsNotFoundAndNamesThePath) {
  BackendLoader loader({.backend_directory = INFERD_TEST_BACKEND_DIR});
  absl::StatusOr<Backend*> backend = loader.Get("nosuchbackend");
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(backend.status().message(),
              AllOf(HasSubstr("nosuchbackend"),
                    HasSubstr(fmt::format("{}/libinferd_backend_nosuchbackend.so",
                                          INFERD_TEST_BACKEND_DIR))));
  EXPECT_FALSE(loader.IsOpen("nosuchbackend"));
}

TEST(BackendLoader, InvalidNameIsRejectedBeforeAnyPathIsBuilt) {
  BackendLoader loader({.backend_directory = INFERD_TEST_BACKEND_DIR});
  for (const char* name :
       {"", "../builtin", "a/b", "Builtin", "built-in", "builtin.so", "x y", "builtin\n"}) {
    absl::StatusOr<Backend*> backend = loader.Get(name);
    ASSERT_FALSE(backend.ok()) << name;
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(backend.status().message(), HasSubstr("invalid backend name")) << name;
  }
}

TEST(BackendLoader, WrongApiVersionIsRefusedWithBothNumbers) {
  BackendLoader loader({.backend_directory = INFERD_TEST_BACKEND_DIR});
  absl::StatusOr<Backend*> backend = loader.Get("testfixture_badversion");
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(),
              AllOf(HasSubstr("testfixture_badversion"), HasSubstr("API version"),
                    HasSubstr(fmt::format("version {}", kBackendApiVersion + 1)),
                    HasSubstr(fmt::format("version {}", kBackendApiVersion))));
  EXPECT_FALSE(loader.IsOpen("testfixture_badversion"));
}

TEST(BackendLoader, LibraryWithoutEntryPointsIsRefused) {
  BackendLoader loader({.backend_directory = INFERD_TEST_BACKEND_DIR});
  absl::StatusOr<Backend*> backend = loader.Get("testfixture_nosymbols");
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(),
              AllOf(HasSubstr("not a valid plugin"), HasSubstr("inferd_backend_api_version")));
}

TEST(BackendLoader, FileThatIsNotALibraryIsRefused) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    fmt::format("inferd_backend_loader_test_{}", getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "libinferd_backend_garbage.so") << "not an ELF file";
  {
    BackendLoader loader({.backend_directory = dir.string()});
    absl::StatusOr<Backend*> backend = loader.Get("garbage");
    ASSERT_FALSE(backend.ok());
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(backend.status().message(), HasSubstr("cannot open"));
  }
  std::filesystem::remove_all(dir);
}

struct ResolveCase {
  const char* platform;
  const char* backend;
  const char* expected;  // nullptr: INVALID_ARGUMENT
};

TEST(ResolveBackendName, MapsTritonPlatformsAndBackends) {
  const ResolveCase cases[] = {
      {"", "builtin", "builtin"},
      {"", "identity", "builtin"},
      {"pytorch_libtorch", "", "torchscript"},
      {"", "pytorch", "torchscript"},
      {"", "torchscript", "torchscript"},
      {"pytorch_libtorch", "pytorch", "torchscript"},
      {"onnxruntime_onnx", "", "onnxruntime"},
      {"onnx_onnxv1", "", "onnxruntime"},
      {"", "onnxruntime", "onnxruntime"},
      {"", "onnx", "onnxruntime"},
      {"onnxruntime_onnx", "onnxruntime", "onnxruntime"},
      {"", "opencv_dnn", "opencv_dnn"},
      {"onnxruntime_onnx", "opencv_dnn", "opencv_dnn"},
      {"", "", nullptr},
      {"tensorrt_plan", "", nullptr},
      {"", "python", nullptr},
      {"pytorch_libtorch", "onnxruntime", nullptr},
      {"tensorflow_savedmodel", "pytorch", nullptr},
      {"", "Builtin", nullptr},
  };
  for (const ResolveCase& c : cases) {
    absl::StatusOr<std::string> name = ResolveBackendName(c.platform, c.backend);
    if (c.expected != nullptr) {
      ASSERT_TRUE(name.ok()) << c.platform << "/" << c.backend << ": " << name.status();
      EXPECT_EQ(*name, c.expected) << c.platform << "/" << c.backend;
    } else {
      ASSERT_FALSE(name.ok()) << c.platform << "/" << c.backend << " gave " << *name;
      EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(name.status().message(),
                  AllOf(HasSubstr(fmt::format("platform '{}'", c.platform)),
                        HasSubstr(fmt::format("backend '{}'", c.backend))));
    }
  }
}

}  // namespace
}  // namespace inferd
