// SPDX-License-Identifier: Apache-2.0
// A model repository in a fresh temporary directory, removed when the object goes away.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace inferd::test_util {

class TempRepo {
 public:
  TempRepo() {
    std::string pattern = (std::filesystem::temp_directory_path() / "inferd-repo-XXXXXX").string();
    root_ = mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
  }
  ~TempRepo() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  TempRepo(const TempRepo&) = delete;
  TempRepo& operator=(const TempRepo&) = delete;

  const std::string& root() const { return root_; }
  std::string Path(const std::string& relative) const { return root_ + "/" + relative; }

  // Writes <root>/<relative>, creating parent folders.
  void Write(const std::string& relative, const std::string& content) const {
    const std::filesystem::path path = Path(relative);
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  }
  void MakeDir(const std::string& relative) const {
    std::filesystem::create_directories(Path(relative));
  }
  void Remove(const std::string& relative) const {
    std::error_code ec;
    std::filesystem::remove_all(Path(relative), ec);
  }

 private:
  std::string root_;
};

}  // namespace inferd::test_util
