// SPDX-License-Identifier: Apache-2.0
#include "repository/model_lifecycle.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "repository/test_util/temp_repo.h"

namespace inferd {
namespace {

using test_util::TempRepo;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FakeFactory;

class FakeServable : public Servable {
 public:
  FakeServable(FakeFactory* factory, std::string label)
      : factory_(factory), label_(std::move(label)) {}
  void Drain() override;
  int drain_calls() const { return drain_calls_.load(); }
  const std::string& label() const { return label_; }

 private:
  FakeFactory* factory_;
  std::string label_;
  std::atomic<int> drain_calls_{0};
};

// Records Create and Drain calls ("m:1"); can be told to fail or to block in Create.
class FakeFactory : public ServableFactory {
 public:
  absl::StatusOr<std::shared_ptr<Servable>> Create(const inference::ModelConfig& config,
                                                   const ServableLocation& location) override {
    const std::string label = absl::StrCat(location.model_name, ":", location.version);
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      created_.push_back(label);
      locations_.push_back(location);
      hook = on_create_;
      if (failing_.contains(location.model_name) || failing_.contains(label)) {
        return absl::InternalError(absl::StrCat("model '", location.model_name, "' version ",
                                                location.version, ": fake build failure"));
      }
    }
    EXPECT_EQ(config.name(), location.model_name);
    if (hook) hook();
    return std::make_shared<FakeServable>(this, label);
  }

  void RecordDrain(const std::string& label) {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      drained_.push_back(label);
      hook = on_drain_;
    }
    if (hook) hook();
  }

  void Fail(const std::string& name_or_label, bool fail = true) {
    absl::MutexLock lock(&mu_);
    if (fail) {
      failing_.insert(name_or_label);
    } else {
      failing_.erase(name_or_label);
    }
  }
  void OnCreate(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    on_create_ = std::move(hook);
  }
  void OnDrain(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    on_drain_ = std::move(hook);
  }
  std::vector<std::string> created() const {
    absl::MutexLock lock(&mu_);
    return created_;
  }
  std::vector<std::string> drained() const {
    absl::MutexLock lock(&mu_);
    return drained_;
  }
  std::vector<ServableLocation> locations() const {
    absl::MutexLock lock(&mu_);
    return locations_;
  }

 private:
  mutable absl::Mutex mu_;
  std::set<std::string> failing_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> created_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> drained_ ABSL_GUARDED_BY(mu_);
  std::vector<ServableLocation> locations_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_create_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_drain_ ABSL_GUARDED_BY(mu_);
};

void FakeServable::Drain() {
  drain_calls_.fetch_add(1);
  factory_->RecordDrain(label_);
}

std::string Config(const std::string& extra = "") {
  return absl::StrCat(R"pb(backend: "identity" input
                           [ {
                             name: "x"
                             data_type: TYPE_FP32
                             dims: [ 1 ]
                           }] output
                           [ {
                             name: "y"
                             data_type: TYPE_FP32
                             dims: [ 1 ]
                           }]
                      )pb",
                      extra);
}

class ModelLifecycleTest : public ::testing::Test {
 protected:
  // Writes a model with a config and version folders that each hold a model file.
  void AddModel(const std::string& name, std::vector<int> versions, const std::string& extra = "") {
    tmp_.Write(name + "/config.pbtxt", Config(extra));
    for (int v : versions) tmp_.Write(absl::StrCat(name, "/", v, "/model.bin"), "weights");
  }

  ModelLifecycle& lifecycle() {
    if (!lifecycle_) {
      auto repo = ModelRepository::Open(tmp_.root());
      EXPECT_TRUE(repo.ok()) << repo.status();
      lifecycle_ = std::make_unique<ModelLifecycle>(std::move(*repo), &factory_);
    }
    return *lifecycle_;
  }

  std::shared_ptr<FakeServable> Servable(const std::string& name, int64_t version = 0) {
    auto handle = lifecycle().Get(name, version);
    EXPECT_TRUE(handle.ok()) << handle.status();
    if (!handle.ok()) return nullptr;
    return std::static_pointer_cast<FakeServable>(handle->servable);
  }

  TempRepo tmp_;
  FakeFactory factory_;
  std::unique_ptr<ModelLifecycle> lifecycle_;
};

TEST_F(ModelLifecycleTest, LoadServesHighestVersionByDefault) {
  AddModel("m", {1, 2});
  ASSERT_TRUE(lifecycle().Load("m").ok());
  EXPECT_THAT(factory_.created(), ElementsAre("m:2"));
  EXPECT_THAT(lifecycle().ReadyVersions("m"), ElementsAre(2));
  auto handle = lifecycle().Get("m", 0);
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(handle->version, 2);
  EXPECT_EQ(handle->config->name(), "m");
  ASSERT_EQ(factory_.locations().size(), 1u);
  EXPECT_EQ(factory_.locations()[0].model_dir, tmp_.Path("m"));
  EXPECT_EQ(factory_.locations()[0].version_dir, tmp_.Path("m/2"));
  auto config = lifecycle().GetConfig("m", 2);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)->backend(), "identity");
}

TEST_F(ModelLifecycleTest, LoadAppliesVersionPolicy) {
  AddModel("m", {1, 2, 3}, "version_policy { specific { versions: [ 1, 3 ] } }");
  ASSERT_TRUE(lifecycle().Load("m").ok());
  EXPECT_THAT(lifecycle().ReadyVersions("m"), ElementsAre(1, 3));
  EXPECT_EQ(Servable("m", 1)->label(), "m:1");
  EXPECT_EQ(Servable("m", 0)->label(), "m:3");
  auto missing = lifecycle().Get("m", 2);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "model 'm' has no version 2");
}

TEST_F(ModelLifecycleTest, GetOfUnknownModelIsNotFound) {
  AddModel("m", {1});
  for (const char* name : {"x", "../m", ""}) {
    auto handle = lifecycle().Get(name, 0);
    EXPECT_EQ(handle.status().code(), absl::StatusCode::kNotFound) << name;
    EXPECT_THAT(handle.status().message(), HasSubstr("unknown model"));
  }
  EXPECT_EQ(lifecycle().GetConfig("x", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(lifecycle().ReadyVersions("x"), IsEmpty());
}

TEST_F(ModelLifecycleTest, GetOfModelNotLoadedIsUnavailable) {
  AddModel("m", {1});
  auto handle = lifecycle().Get("m", 0);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(handle.status().message(), "model 'm' is not ready: not loaded");
}

TEST_F(ModelLifecycleTest, LoadOfMissingOrInvalidModelFails) {
  EXPECT_EQ(lifecycle().Load("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(lifecycle().Load("../etc").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(factory_.created(), IsEmpty());
}

TEST_F(ModelLifecycleTest, LoadWithoutVersionFoldersFails) {
  AddModel("m", {});
  auto status = lifecycle().Load("m");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("no version folders"));
}

TEST_F(ModelLifecycleTest, UnloadDrainsAndMakesModelUnavailable) {
  AddModel("m", {1});
  ASSERT_TRUE(lifecycle().Load("m").ok());
  auto held = Servable("m");  // an in-flight request's handle stays valid
  ASSERT_TRUE(lifecycle().Unload("m").ok());
  EXPECT_EQ(held->drain_calls(), 1);
  EXPECT_THAT(factory_.drained(), ElementsAre("m:1"));
  auto handle = lifecycle().Get("m", 0);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(handle.status().message(), "model 'm' is not ready: unloaded");
  EXPECT_THAT(lifecycle().ReadyVersions("m"), IsEmpty());

  auto again = lifecycle().Unload("m");
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(again.message(), HasSubstr("not loaded"));
  EXPECT_EQ(lifecycle().Unload("never").code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(lifecycle().Load("m").ok());  // loads again after an unload
  EXPECT_EQ(Servable("m")->drain_calls(), 0);
}

TEST_F(ModelLifecycleTest, IndexShowsUnloadingWhileDraining) {
  AddModel("m", {1});
  ASSERT_TRUE(lifecycle().Load("m").ok());
  std::vector<RepositoryIndexEntry> during;
  absl::Status get_during;
  // Drain runs outside the lifecycle's lock: the index and Get answer from inside it.
  factory_.OnDrain([&] {
    during = lifecycle().Index(false);
    get_during = lifecycle().Get("m", 0).status();
  });
  ASSERT_TRUE(lifecycle().Unload("m").ok());
  ASSERT_EQ(during.size(), 1u);
  EXPECT_EQ(during[0].version, 1);
  EXPECT_EQ(during[0].state, ModelState::kUnloading);
  EXPECT_EQ(get_during.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(get_during.message(), HasSubstr("unloading"));
}

TEST_F(ModelLifecycleTest, FailedLoadIsRecordedAsIndexReason) {
  AddModel("m", {1});
  factory_.Fail("m");
  auto status = lifecycle().Load("m");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  auto handle = lifecycle().Get("m", 0);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(handle.status().message(), HasSubstr("fake build failure"));
  auto index = lifecycle().Index(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, ModelState::kUnavailable);
  EXPECT_THAT(index[0].reason, HasSubstr("fake build failure"));
}

TEST_F(ModelLifecycleTest, BadConfigIsRecordedAsIndexReason) {
  tmp_.Write("m/config.pbtxt", "backend: \"identity\"\nbogus: 1\n");
  tmp_.MakeDir("m/1");
  auto status = lifecycle().Load("m");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bogus"));
  auto index = lifecycle().Index(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_THAT(index[0].reason, HasSubstr("config.pbtxt:2:1"));
  EXPECT_THAT(factory_.created(), IsEmpty());
}

TEST_F(ModelLifecycleTest, ReloadReplacesAndDrainsOldVersion) {
  AddModel("m", {1});
  ASSERT_TRUE(lifecycle().Load("m").ok());
  auto old = Servable("m");
  ASSERT_TRUE(lifecycle().Load("m").ok());
  auto fresh = Servable("m");
  EXPECT_NE(old, fresh);
  EXPECT_EQ(old->drain_calls(), 1);
  EXPECT_EQ(fresh->drain_calls(), 0);
}

TEST_F(ModelLifecycleTest, ReloadKeepsServingWhenNewBuildFails) {
  AddModel("m", {1, 2}, "version_policy { all {} }");
  ASSERT_TRUE(lifecycle().Load("m").ok());
  auto old1 = Servable("m", 1);
  auto old2 = Servable("m", 2);
  factory_.Fail("m:2");  // version 1 builds, version 2 fails: the whole reload is abandoned
  auto status = lifecycle().Load("m");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("fake build failure"));
  EXPECT_EQ(Servable("m", 1), old1);
  EXPECT_EQ(Servable("m", 2), old2);
  EXPECT_EQ(old1->drain_calls(), 0);
  EXPECT_EQ(old2->drain_calls(), 0);
  // The abandoned new build of version 1 was drained; nothing else.
  EXPECT_THAT(factory_.drained(), ElementsAre("m:1"));
  auto index = lifecycle().Index(false);
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index[0].state, ModelState::kReady);
  EXPECT_EQ(index[1].state, ModelState::kReady);
}

TEST_F(ModelLifecycleTest, ReloadUnloadsVersionsNoLongerSelected) {
  AddModel("m", {1, 2}, "version_policy { all {} }");
  ASSERT_TRUE(lifecycle().Load("m").ok());
  auto old1 = Servable("m", 1);
  tmp_.Write("m/config.pbtxt", Config());
  ASSERT_TRUE(lifecycle().Load("m").ok());
  EXPECT_THAT(lifecycle().ReadyVersions("m"), ElementsAre(2));
  EXPECT_EQ(old1->drain_calls(), 1);
  EXPECT_EQ(lifecycle().Get("m", 1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelLifecycleTest, LoadAllReturnsFirstErrorAndKeepsTheRest) {
  AddModel("a", {1});
  tmp_.Write("b/config.pbtxt", "max_batch_size: -3");
  tmp_.MakeDir("b/1");
  AddModel("c", {1});
  auto status = lifecycle().LoadAll();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("model 'b'"));
  EXPECT_TRUE(lifecycle().Get("a", 0).ok());
  EXPECT_TRUE(lifecycle().Get("c", 0).ok());
}

TEST_F(ModelLifecycleTest, IndexListsRepositoryAndLoadedModels) {
  AddModel("a", {1, 2}, "version_policy { all {} }");
  AddModel("b", {1});
  factory_.Fail("c");
  AddModel("c", {1});
  ASSERT_TRUE(lifecycle().Load("a").ok());
  EXPECT_FALSE(lifecycle().Load("c").ok());
  auto index = lifecycle().Index(false);
  ASSERT_EQ(index.size(), 4u);
  EXPECT_EQ(index[0].name, "a");
  EXPECT_EQ(index[0].version, 1);
  EXPECT_EQ(index[0].state, ModelState::kReady);
  EXPECT_EQ(index[1].version, 2);
  EXPECT_EQ(index[2].name, "b");
  EXPECT_EQ(index[2].version, 0);
  EXPECT_EQ(index[2].state, ModelState::kUnavailable);
  EXPECT_EQ(index[2].reason, "");
  EXPECT_EQ(index[3].name, "c");
  EXPECT_THAT(index[3].reason, HasSubstr("fake build failure"));

  auto ready = lifecycle().Index(true);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0].name, "a");
  EXPECT_EQ(ModelStateName(ready[0].state), "READY");
  EXPECT_EQ(ModelStateName(ModelState::kUnavailable), "UNAVAILABLE");
  EXPECT_EQ(ModelStateName(ModelState::kLoading), "LOADING");
  EXPECT_EQ(ModelStateName(ModelState::kUnloading), "UNLOADING");
}

TEST_F(ModelLifecycleTest, PollLoadsAddedAndUnloadsRemovedModels) {
  lifecycle().Poll();
  EXPECT_THAT(factory_.created(), IsEmpty());
  AddModel("m", {1});
  lifecycle().Poll();
  EXPECT_THAT(factory_.created(), ElementsAre("m:1"));
  auto servable = Servable("m");
  lifecycle().Poll();  // nothing changed: nothing rebuilt
  EXPECT_EQ(factory_.created().size(), 1u);
  tmp_.Remove("m");
  lifecycle().Poll();
  EXPECT_EQ(servable->drain_calls(), 1);
  EXPECT_EQ(lifecycle().Get("m", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(lifecycle().Index(false), IsEmpty());
}

TEST_F(ModelLifecycleTest, PollReloadsOnConfigContentChange) {
  AddModel("m", {1});
  lifecycle().Poll();
  auto first = Servable("m");
  tmp_.Write("m/config.pbtxt", Config("max_batch_size: 4"));
  lifecycle().Poll();
  EXPECT_EQ(first->drain_calls(), 1);
  auto config = lifecycle().GetConfig("m", 0);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)->max_batch_size(), 4);
}

TEST_F(ModelLifecycleTest, PollReloadsOnVersionFolderChange) {
  AddModel("m", {1}, "version_policy { all {} }");
  lifecycle().Poll();
  tmp_.Write("m/2/model.bin", "w2");
  lifecycle().Poll();
  EXPECT_THAT(lifecycle().ReadyVersions("m"), ElementsAre(1, 2));
  tmp_.Remove("m/1");
  lifecycle().Poll();
  EXPECT_THAT(lifecycle().ReadyVersions("m"), ElementsAre(2));
}

TEST_F(ModelLifecycleTest, PollReloadsOnModelFileChange) {
  AddModel("m", {1});
  lifecycle().Poll();
  auto first = Servable("m");
  // Same size, newer modification time.
  const std::string file = tmp_.Path("m/1/model.bin");
  std::filesystem::last_write_time(
      file, std::filesystem::last_write_time(file) + std::chrono::seconds(5));
  lifecycle().Poll();
  EXPECT_EQ(first->drain_calls(), 1);
  auto second = Servable("m");
  tmp_.Write("m/1/model.bin", "bigger weights");
  lifecycle().Poll();
  EXPECT_EQ(second->drain_calls(), 1);
  EXPECT_EQ(factory_.created().size(), 3u);
}

TEST_F(ModelLifecycleTest, PollKeepsOldVersionWhenReloadFailsAndDoesNotRetryUnchanged) {
  AddModel("m", {1});
  lifecycle().Poll();
  auto first = Servable("m");
  tmp_.Write("m/config.pbtxt", "this is not a config");
  lifecycle().Poll();
  EXPECT_EQ(Servable("m"), first);
  EXPECT_EQ(first->drain_calls(), 0);
  lifecycle().Poll();
  EXPECT_EQ(factory_.created().size(), 1u);
  tmp_.Write("m/config.pbtxt", Config());  // fixed
  lifecycle().Poll();
  EXPECT_NE(Servable("m"), first);
  EXPECT_EQ(first->drain_calls(), 1);
}

TEST_F(ModelLifecycleTest, DestructorUnloadsEverything) {
  AddModel("m", {1});
  ASSERT_TRUE(lifecycle().Load("m").ok());
  auto servable = Servable("m");
  lifecycle_.reset();
  EXPECT_EQ(servable->drain_calls(), 1);
}

TEST_F(ModelLifecycleTest, GetDoesNotWaitForLoadInProgress) {
  AddModel("a", {1});
  AddModel("b", {1});
  ASSERT_TRUE(lifecycle().Load("a").ok());
  absl::Notification in_create, release;
  factory_.OnCreate([&] {
    in_create.Notify();
    release.WaitForNotification();
  });
  std::thread loader([&] { EXPECT_TRUE(lifecycle().Load("b").ok()); });
  in_create.WaitForNotification();
  // While b's build is blocked: a serves, b reports LOADING, index answers.
  EXPECT_TRUE(lifecycle().Get("a", 0).ok());
  auto b = lifecycle().Get("b", 0);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(b.status().message(), HasSubstr("loading"));
  auto index = lifecycle().Index(false);
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index[1].state, ModelState::kLoading);
  release.Notify();
  loader.join();
  EXPECT_TRUE(lifecycle().Get("b", 0).ok());
}

TEST_F(ModelLifecycleTest, ConcurrentGetDuringLoadAndUnload) {
  AddModel("m", {1, 2}, "version_policy { all {} }");
  ASSERT_TRUE(lifecycle().Load("m").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, unavailable{0}, other{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto handle = lifecycle().Get("m", 0);
        if (handle.ok() && handle->servable != nullptr && handle->config != nullptr) {
          ++ok;
        } else if (handle.status().code() == absl::StatusCode::kUnavailable) {
          ++unavailable;
        } else {
          ++other;
        }
        (void)lifecycle().ReadyVersions("m");
        (void)lifecycle().Index(true);
      }
    });
  }
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(lifecycle().Load("m").ok());
    ASSERT_TRUE(lifecycle().Unload("m").ok());
  }
  ASSERT_TRUE(lifecycle().Load("m").ok());
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load() + unavailable.load(), 0);
  // Every built servable except the two still loaded was drained exactly once.
  EXPECT_EQ(factory_.drained().size() + 2, factory_.created().size());
}

}  // namespace
}  // namespace inferd
