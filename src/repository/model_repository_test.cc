// SPDX-License-Identifier: Apache-2.0
#include "repository/model_repository.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "repository/test_util/temp_repo.h"

namespace inferd {
namespace {

using test_util::TempRepo;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(IsValidModelName, AcceptsOrdinaryNames) {
  EXPECT_TRUE(IsValidModelName("resnet50"));
  EXPECT_TRUE(IsValidModelName("a.b-c_d"));
  EXPECT_TRUE(IsValidModelName(std::string(255, 'a')));
}

TEST(IsValidModelName, RejectsNamesThatEscapeOrHide) {
  EXPECT_FALSE(IsValidModelName(""));
  EXPECT_FALSE(IsValidModelName("."));
  EXPECT_FALSE(IsValidModelName(".."));
  EXPECT_FALSE(IsValidModelName(".hidden"));
  EXPECT_FALSE(IsValidModelName("a/b"));
  EXPECT_FALSE(IsValidModelName("../etc"));
  EXPECT_FALSE(IsValidModelName(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidModelName(std::string(256, 'a')));
}

TEST(ModelRepository, OpenFailsForMissingDirectory) {
  auto repo = ModelRepository::Open("/nonexistent/inferd-repo");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(repo.status().message(), HasSubstr("/nonexistent/inferd-repo"));
}

TEST(ModelRepository, OpenFailsForPlainFile) {
  TempRepo tmp;
  tmp.Write("file", "x");
  auto repo = ModelRepository::Open(tmp.Path("file"));
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), absl::StatusCode::kNotFound);
}

TEST(ModelRepository, ListsModelFoldersSortedSkippingHiddenAndFiles) {
  TempRepo tmp;
  tmp.MakeDir("b_model");
  tmp.MakeDir("a_model");
  tmp.MakeDir(".git");
  tmp.Write("README.md", "x");
  auto repo = ModelRepository::Open(tmp.root() + "/");
  ASSERT_TRUE(repo.ok()) << repo.status();
  EXPECT_EQ(repo->root(), tmp.root());
  auto models = repo->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  EXPECT_THAT(*models, ElementsAre("a_model", "b_model"));
}

TEST(ModelRepository, ModelDirChecksNameBeforeBuildingPath) {
  TempRepo tmp;
  tmp.MakeDir("m");
  auto repo = ModelRepository::Open(tmp.root());
  ASSERT_TRUE(repo.ok());
  auto dir = repo->ModelDir("m");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, tmp.Path("m"));

  auto bad = repo->ModelDir("../m");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("invalid model name"));

  auto missing = repo->ModelDir("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("'nope'"));
}

TEST(ModelRepository, ListsNumericVersionFoldersOnly) {
  TempRepo tmp;
  for (const char* d : {"m/10", "m/2", "m/1", "m/01", "m/0", "m/abc", "m/3x", "m/-4",
                        "m/99999999999999999999999"}) {
    tmp.MakeDir(d);
  }
  tmp.Write("m/7", "a file, not a folder");
  tmp.Write("m/config.pbtxt", "");
  auto repo = ModelRepository::Open(tmp.root());
  ASSERT_TRUE(repo.ok());
  auto versions = repo->ListVersions("m");
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_THAT(*versions, ElementsAre(1, 2, 10));
}

TEST(ModelRepository, ListVersionsOfUnknownModelIsNotFound) {
  TempRepo tmp;
  auto repo = ModelRepository::Open(tmp.root());
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->ListVersions("x").status().code(), absl::StatusCode::kNotFound);
}

inference::ModelConfig ConfigWithPolicy(const std::string& policy_text = "") {
  inference::ModelConfig config;
  config.set_name("m");
  if (policy_text == "all") config.mutable_version_policy()->mutable_all();
  return config;
}

TEST(SelectVersions, DefaultIsHighestVersion) {
  auto selected = SelectVersions(ConfigWithPolicy(), {3, 1, 2});
  ASSERT_TRUE(selected.ok());
  EXPECT_THAT(*selected, ElementsAre(3));
}

TEST(SelectVersions, LatestN) {
  inference::ModelConfig config = ConfigWithPolicy();
  config.mutable_version_policy()->mutable_latest()->set_num_versions(2);
  EXPECT_THAT(*SelectVersions(config, {1, 5, 3}), ElementsAre(3, 5));
  config.mutable_version_policy()->mutable_latest()->set_num_versions(10);
  EXPECT_THAT(*SelectVersions(config, {1, 5, 3}), ElementsAre(1, 3, 5));
}

TEST(SelectVersions, All) {
  EXPECT_THAT(*SelectVersions(ConfigWithPolicy("all"), {4, 2}), ElementsAre(2, 4));
}

TEST(SelectVersions, Specific) {
  inference::ModelConfig config = ConfigWithPolicy();
  auto* specific = config.mutable_version_policy()->mutable_specific();
  specific->add_versions(3);
  specific->add_versions(1);
  EXPECT_THAT(*SelectVersions(config, {1, 2, 3}), ElementsAre(1, 3));
}

TEST(SelectVersions, SpecificVersionNotOnDiskIsNotFound) {
  inference::ModelConfig config = ConfigWithPolicy();
  config.mutable_version_policy()->mutable_specific()->add_versions(4);
  auto selected = SelectVersions(config, {1, 2});
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(selected.status().message(), HasSubstr("version 4"));
}

TEST(SelectVersions, NoVersionsIsFailedPrecondition) {
  auto selected = SelectVersions(ConfigWithPolicy(), {});
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(selected.status().message(), "model 'm' has no version folders");
  EXPECT_EQ(SelectVersions(ConfigWithPolicy("all"), {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SelectVersions, ResultIsEmptyNeverOk) {
  // Guard: an OK result always has at least one version.
  auto selected = SelectVersions(ConfigWithPolicy(), {7});
  ASSERT_TRUE(selected.ok());
  EXPECT_THAT(*selected, Not(IsEmpty()));
}

}  // namespace
}  // namespace inferd
