// SPDX-License-Identifier: Apache-2.0
#include "repository/model_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kValid[] = R"pb(
  backend: "identity"
  max_batch_size: 8 input
  [ {
    name: "x"
    data_type: TYPE_FP32
    dims: [ 2, -1 ]
  }] output
  [ {
    name: "y"
    data_type: TYPE_FP32
    dims: [ 2, -1 ]
  }]
)pb";

absl::StatusOr<ParsedModelConfig> Parse(const std::string& extra,
                                        const std::string& base = kValid) {
  return ParseModelConfig(base + extra, "m");
}

// Asserts INVALID_ARGUMENT naming the model and containing every key word.
void ExpectInvalid(const absl::StatusOr<ParsedModelConfig>& result,
                   std::initializer_list<std::string> words) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("model 'm': "));
  for (const std::string& word : words) EXPECT_THAT(message, HasSubstr(word));
}

TEST(ParseModelConfig, ParsesSupportedFieldsWithoutWarnings) {
  auto parsed = Parse(R"pb(
    name: "m"
    platform: "onnxruntime_onnx"
    default_model_filename: "net.onnx"
    version_policy { latest { num_versions: 2 } }
    dynamic_batching {
      preferred_batch_size: [ 4, 8 ]
      max_queue_delay_microseconds: 100
      priority_levels: 2
      default_priority_level: 1
      default_queue_policy { max_queue_size: 16 timeout_action: DELAY }
      priority_queue_policy {
        key: 2
        value { default_timeout_microseconds: 5 }
      }
    } instance_group
    [ {
      name: "g"
      count: 2
      kind: KIND_CPU
      gpus: [ 0 ]
    }]
    parameters {
      key: "k"
      value { string_value: "v" }
    }
  )pb");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->warnings, IsEmpty());
  EXPECT_EQ(parsed->config.max_batch_size(), 8);
  EXPECT_EQ(parsed->config.dynamic_batching().default_queue_policy().max_queue_size(), 16u);
  EXPECT_EQ(parsed->config.parameters().at("k").string_value(), "v");
}

TEST(ParseModelConfig, FillsMissingNameFromDirectory) {
  auto parsed = Parse("");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.name(), "m");
}

TEST(ParseModelConfig, RejectsNameThatDiffersFromDirectory) {
  ExpectInvalid(Parse(R"pb(name: "other")pb"), {"'other'", "directory name"});
}

TEST(ParseModelConfig, UnknownFieldNamesFieldAndLine) {
  auto parsed = ParseModelConfig("backend: \"identity\"\n\n    foo: 1\n", "m");
  ExpectInvalid(parsed, {"config.pbtxt:3:5:", "no field named \"foo\"", "inference.ModelConfig"});
}

TEST(ParseModelConfig, UnknownNestedFieldIsAnError) {
  ExpectInvalid(Parse(R"pb(instance_group
                           [ { cores: 3 }])pb"),
                {"no field named \"cores\"", "ModelInstanceGroup"});
}

TEST(ParseModelConfig, SyntaxErrorIsAnError) {
  ExpectInvalid(ParseModelConfig("input [ { name: \"x\" ", "m"), {"config.pbtxt:1:"});
}

TEST(ParseModelConfig, BadValueNamesTheFieldAndPosition) {
  // The parser alone says only 'config.pbtxt:3:17: Expected integer, got: "not a number"'.
  ExpectInvalid(
      ParseModelConfig("name: \"m\"\nbackend: \"identity\"\nmax_batch_size: "
                       "\"not a number\"\n",
                       "m"),
      {"config.pbtxt:3:17:", "field 'max_batch_size'", "Expected integer", "\"not a number\""});
  ExpectInvalid(ParseModelConfig("# comment: {\ninput [ { name: \"x\" data_type: TYPE_FP32\n"
                                 "  dims: [ 2, -x ] } ]\n",
                                 "m"),
                {"config.pbtxt:3:", "field 'input.dims'"});
  ExpectInvalid(ParseModelConfig("dynamic_batching {\n  default_queue_policy { max_queue_size: "
                                 "1.5 }\n}\nmax_batch_size: 1\n",
                                 "m"),
                {"field 'dynamic_batching.default_queue_policy.max_queue_size'"});
  ExpectInvalid(ParseModelConfig("input { name: \"x\" }\nversion_policy: { latest: { "
                                 "num_versions: true } }\n",
                                 "m"),
                {"config.pbtxt:2:", "field 'version_policy.latest.num_versions'"});
}

TEST(ParseModelConfig, BadEnumValueIsAnError) {
  ExpectInvalid(Parse(R"pb(instance_group
                           [ { kind: KIND_TPU }])pb"),
                {"KIND_TPU", "field 'instance_group.kind'"});
}

TEST(ParseModelConfig, TwoSchedulersAreAnError) {
  ExpectInvalid(Parse("dynamic_batching {}\nsequence_batching {}\n"), {"oneof"});
}

TEST(ParseModelConfig, ParsesTritonFieldsAndWarnsOncePerField) {
  auto parsed = Parse(R"pb(
    runtime: "libx.so"
    optimization {
      graph { level: 1 }
      cuda {
        graphs: true graph_spec
        [ {
          batch_size: 1
          input {
            key: "x"
            value { dim: [ 2, 2 ] }
          }
        }]
      }
      execution_accelerators { gpu_execution_accelerator
                               [ {
                                 name: "tensorrt"
                                 parameters { key: "precision_mode" value: "FP16" }
                               }] }
      input_pinned_memory { enable: false }
    } model_warmup
    [ {
      name: "w"
      batch_size: 1
      inputs {
        key: "x"
        value {
          data_type: TYPE_FP32
          dims: [ 2, 2 ]
          zero_data: true
        }
      }
    }]
    model_transaction_policy { decoupled: true }
    response_cache { enable: true }
    cc_model_filenames { key: "7.5" value: "a.plan" }
    metric_tags { key: "team" value: "a" }
    model_repository_agents { agents
                              [ {
                                name: "checksum"
                                parameters { key: "k" value: "v" }
                              }] }
    model_operations { op_library_filename: "ops.so" } batch_input
    [ {
      kind: BATCH_ELEMENT_COUNT
      target_name: "n"
      data_type: TYPE_INT32
      source_input: "x"
    }] batch_output
    [ { kind: BATCH_SCATTER_WITH_INPUT_SHAPE target_name: "y" source_input: "x" }]
    model_metrics { metric_control
                    [ {
                      metric_identifier { family: "f" }
                      histogram_options { buckets: [ 1, 2 ] }
                    }] } instance_group
    [ {
      count: 1
      kind: KIND_CPU
      host_policy: "p"
      rate_limiter { resources
                     [ { name: "r" count: 1 }] }
    }]
  )pb");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(
      parsed->warnings,
      ElementsAre(HasSubstr("'batch_input'"), HasSubstr("'batch_output'"),
                  HasSubstr("'cc_model_filenames'"), HasSubstr("'instance_group.host_policy'"),
                  HasSubstr("'instance_group.rate_limiter'"), HasSubstr("'metric_tags'"),
                  HasSubstr("'model_metrics'"), HasSubstr("'model_operations'"),
                  HasSubstr("'model_repository_agents'"), HasSubstr("'model_transaction_policy'"),
                  HasSubstr("'model_warmup'"), HasSubstr("'optimization'"),
                  HasSubstr("'response_cache'"), HasSubstr("'runtime'")));
  EXPECT_EQ(parsed->warnings.front(),
            "model 'm': field 'batch_input' is not supported by inferd and is ignored");
}

TEST(ParseModelConfig, WarnsForNonDefaultTensorSubfieldsOnly) {
  auto parsed = ParseModelConfig(R"pb(
                                   backend: "b" input
                                   [ {
                                     name: "a"
                                     data_type: TYPE_FP32
                                     dims: [ 1 ]
                                     format: FORMAT_NCHW
                                     is_shape_tensor: false
                                   }
                                     , {
                                       name: "b"
                                       data_type: TYPE_FP32
                                       dims: [ 1 ]
                                       format: FORMAT_NHWC
                                       optional: true
                                       allow_ragged_batch: true
                                     }] output
                                   [ {
                                     name: "y"
                                     data_type: TYPE_FP32
                                     dims: [ 1 ]
                                     label_filename: "labels.txt"
                                     is_shape_tensor: true
                                   }]
                                 )pb",
                                 "m");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->warnings,
              ElementsAre(HasSubstr("'input.allow_ragged_batch'"), HasSubstr("'input.format'"),
                          HasSubstr("'input.optional'"), HasSubstr("'output.is_shape_tensor'")));
}

TEST(ParseModelConfig, SequenceAndEnsembleSchedulingParseWithWarning) {
  auto seq = Parse(R"pb(
    sequence_batching {
      max_sequence_idle_microseconds: 5000000 control_input
      [ {
        name: "START" control
        [ {
          kind: CONTROL_SEQUENCE_START
          int32_false_true: [ 0, 1 ]
        }]
      }]
      oldest {
        max_candidate_sequences: 4
        preferred_batch_size: [ 2 ]
      } state
      [ {
        input_name: "s_in"
        output_name: "s_out"
        data_type: TYPE_FP32
        dims: [ 1 ] initial_state
        [ {
          name: "i"
          data_type: TYPE_FP32
          dims: [ 1 ]
          zero_data: true
        }]
      }]
    }
  )pb");
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_THAT(seq->warnings, ElementsAre(HasSubstr("'sequence_batching'")));

  auto ensemble = Parse(R"pb(
    ensemble_scheduling { step
                          [ {
                            model_name: "a"
                            model_version: -1
                            input_map { key: "x" value: "x" }
                            output_map { key: "y" value: "t" }
                          }] }
  )pb");
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  EXPECT_THAT(ensemble->warnings, ElementsAre(HasSubstr("'ensemble_scheduling'")));
}

TEST(ParseModelConfig, ParsesTheReferenceExample) {
  auto parsed =
      ParseModelConfig(R"pb(
                         name: "resnet"
                         platform: "onnxruntime_onnx"
                         max_batch_size: 32 input
                         [ {
                           name: "x"
                           data_type: TYPE_FP32
                           dims: [ 3, 224, 224 ]
                         }] output
                         [ {
                           name: "y"
                           data_type: TYPE_FP32
                           dims: [ 1000 ]
                         }]
                         dynamic_batching {
                           preferred_batch_size: [ 8, 16 ]
                           max_queue_delay_microseconds: 200
                           default_queue_policy { max_queue_size: 1024 timeout_action: REJECT }
                         } instance_group
                         [ {
                           count: 2
                           kind: KIND_GPU
                           gpus: [ 0 ]
                         }
                           , { count: 4 kind: KIND_CPU }]
                         version_policy { latest { num_versions: 1 } } model_warmup
                         [ {
                           name: "w"
                           batch_size: 1
                           inputs {
                             key: "x"
                             value {
                               data_type: TYPE_FP32
                               dims: [ 3, 224, 224 ]
                               zero_data: true
                             }
                           }
                         }]
                       )pb",
                       "resnet");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->warnings, ElementsAre(HasSubstr("'model_warmup'")));
  EXPECT_EQ(InstanceCount(parsed->config), 6);
}

// --- ValidateModelConfig: one test per error ---

TEST(ValidateModelConfig, RequiresBackendOrPlatform) {
  ExpectInvalid(ParseModelConfig(R"pb(
                                   input
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
                                 "m"),
                {"'backend'", "'platform'"});
}

TEST(ValidateModelConfig, RequiresName) {
  inference::ModelConfig config;
  auto status = ValidateModelConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'name'"));
}

TEST(ValidateModelConfig, RejectsNegativeMaxBatchSize) {
  ExpectInvalid(ParseModelConfig(R"pb(backend: "b"
                                      max_batch_size: -1 input
                                      [ {
                                        name: "x"
                                        data_type: TYPE_FP32
                                        dims: [ 1 ]
                                      }] output
                                      [ {
                                        name: "y"
                                        data_type: TYPE_FP32
                                        dims: [ 1 ]
                                      }])pb",
                                 "m"),
                {"max_batch_size", "-1", ">= 0"});
}

TEST(ValidateModelConfig, RequiresAnInput) {
  ExpectInvalid(ParseModelConfig(R"pb(backend: "b" output
                                      [ {
                                        name: "y"
                                        data_type: TYPE_FP32
                                        dims: [ 1 ]
                                      }])pb",
                                 "m"),
                {"no 'input'"});
}

TEST(ValidateModelConfig, LetsAnOnnxRuntimeConfigOmitItsTensorsForAutoComplete) {
  // The lifecycle fills them from model.onnx (onnx_autocomplete.h) and validates again.
  auto parsed = ParseModelConfig(R"pb(backend: "onnxruntime")pb", "m");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  parsed = ParseModelConfig(R"pb(platform: "onnxruntime_onnx" max_batch_size: 4)pb", "m");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
}

TEST(ValidateModelConfig, RequiresAnOutput) {
  ExpectInvalid(ParseModelConfig(R"pb(backend: "b" input
                                      [ {
                                        name: "x"
                                        data_type: TYPE_FP32
                                        dims: [ 1 ]
                                      }])pb",
                                 "m"),
                {"no 'output'"});
}

TEST(ValidateModelConfig, RejectsEmptyTensorName) {
  ExpectInvalid(Parse(R"pb(input
                           [ {
                             data_type: TYPE_FP32
                             dims: [ 1 ]
                           }])pb"),
                {"input", "empty 'name'"});
}

TEST(ValidateModelConfig, RejectsDuplicateTensorName) {
  ExpectInvalid(Parse(R"pb(output
                           [ {
                             name: "y"
                             data_type: TYPE_INT32
                             dims: [ 1 ]
                           }])pb"),
                {"duplicate output 'y'", "unique"});
}

TEST(ValidateModelConfig, AllowsSameNameForAnInputAndAnOutput) {
  EXPECT_TRUE(Parse(R"pb(output
                         [ {
                           name: "x"
                           data_type: TYPE_INT32
                           dims: [ 1 ]
                         }])pb").ok());
}

TEST(ValidateModelConfig, RejectsMissingDataType) {
  ExpectInvalid(Parse(R"pb(input
                           [ {
                             name: "z"
                             dims: [ 1 ]
                           }])pb"), {"input 'z'", "data_type"});
}

TEST(ValidateModelConfig, RejectsOutOfRangeDataType) {
  ExpectInvalid(Parse(R"pb(output
                           [ {
                             name: "z"
                             data_type: 99
                             dims: [ 1 ]
                           }])pb"),
                {"output 'z'", "data_type", "99"});
}

TEST(ValidateModelConfig, RejectsEmptyDims) {
  ExpectInvalid(Parse(R"pb(input
                           [ { name: "z" data_type: TYPE_FP32 }])pb"),
                {"input 'z'", "dims is empty"});
}

TEST(ValidateModelConfig, RejectsZeroAndNegativeDims) {
  ExpectInvalid(Parse(R"pb(input
                           [ {
                             name: "z"
                             data_type: TYPE_FP32
                             dims: [ 3, 0 ]
                           }])pb"),
                {"input 'z'", "dims [3,0]", "-1 or > 0"});
  ExpectInvalid(Parse(R"pb(output
                           [ {
                             name: "z"
                             data_type: TYPE_FP32
                             dims: [ -2 ]
                           }])pb"),
                {"output 'z'", "dims [-2]"});
}

TEST(ValidateModelConfig, RejectsBadReshapeDims) {
  ExpectInvalid(Parse(R"pb(input
                           [ {
                             name: "z"
                             data_type: TYPE_FP32
                             dims: [ 4 ]
                             reshape { shape: [ 0, 4 ] }
                           }])pb"),
                {"input 'z'", "reshape [0,4]"});
}

TEST(ValidateModelConfig, RejectsReshapeWithOtherElementCount) {
  ExpectInvalid(Parse(R"pb(input
                           [ {
                             name: "z"
                             data_type: TYPE_FP32
                             dims: [ 2, 3 ]
                             reshape { shape: [ 5 ] }
                           }])pb"),
                {"input 'z'", "reshape [5] has 5 elements", "dims [2,3] has 6"});
}

TEST(ValidateModelConfig, AcceptsScalarReshapeAndVariableReshape) {
  EXPECT_TRUE(Parse(R"pb(input
                         [ {
                           name: "s"
                           data_type: TYPE_FP32
                           dims: [ 1 ]
                           reshape { shape: [] }
                         }])pb")
                  .ok());
  EXPECT_TRUE(Parse(R"pb(input
                         [ {
                           name: "v"
                           data_type: TYPE_FP32
                           dims: [ -1 ]
                           reshape { shape: [ -1, 2 ] }
                         }])pb")
                  .ok());
}

TEST(ValidateModelConfig, RejectsNegativeInstanceCount) {
  ExpectInvalid(Parse(R"pb(instance_group
                           [ { name: "g" count: -2 }])pb"),
                {"instance_group 'g'", "count -2"});
}

TEST(ValidateModelConfig, RejectsInvalidInstanceKind) {
  ExpectInvalid(Parse(R"pb(instance_group
                           [ { kind: 9 }])pb"), {"instance_group", "kind 9"});
}

TEST(ValidateModelConfig, RejectsNegativeGpu) {
  ExpectInvalid(Parse(R"pb(instance_group
                           [ { gpus: [ -1 ] }])pb"), {"instance_group", "gpus"});
}

TEST(ValidateModelConfig, RejectsPreferredBatchSizeAboveMax) {
  ExpectInvalid(Parse(R"pb(dynamic_batching { preferred_batch_size: [ 4, 16 ] })pb"),
                {"preferred_batch_size 16", "max_batch_size (8)"});
}

TEST(ValidateModelConfig, RejectsPreferredBatchSizeWithoutBatching) {
  ExpectInvalid(Parse(R"pb(max_batch_size: 0
                           dynamic_batching { preferred_batch_size: 1 })pb",
                      R"pb(backend: "b" input
                           [ {
                             name: "x"
                             data_type: TYPE_FP32
                             dims: [ 1 ]
                           }] output
                           [ {
                             name: "y"
                             data_type: TYPE_FP32
                             dims: [ 1 ]
                           }])pb"),
                {"preferred_batch_size 1", "max_batch_size (0)"});
}

TEST(ValidateModelConfig, RejectsNonPositivePreferredBatchSize) {
  ExpectInvalid(Parse(R"pb(dynamic_batching { preferred_batch_size: 0 })pb"),
                {"preferred_batch_size 0"});
}

TEST(ValidateModelConfig, RejectsDefaultPriorityAboveLevels) {
  ExpectInvalid(Parse(R"pb(dynamic_batching { priority_levels: 2 default_priority_level: 3 })pb"),
                {"default_priority_level 3", "priority_levels (2)"});
}

TEST(ValidateModelConfig, RequiresDefaultPriorityWithLevels) {
  ExpectInvalid(Parse(R"pb(dynamic_batching { priority_levels: 2 })pb"),
                {"default_priority_level is required"});
}

TEST(ValidateModelConfig, RejectsQueuePolicyForUnknownLevel) {
  ExpectInvalid(Parse(R"pb(dynamic_batching {
                             priority_levels: 2
                             default_priority_level: 1
                             priority_queue_policy {
                               key: 3
                               value {}
                             }
                           })pb"),
                {"priority_queue_policy level 3"});
}

TEST(ValidateModelConfig, AcceptsEmptyDynamicBatchingWithoutBatching) {
  EXPECT_TRUE(Parse("max_batch_size: 0 dynamic_batching {}",
                    R"pb(backend: "b" input
                         [ {
                           name: "x"
                           data_type: TYPE_FP32
                           dims: [ 1 ]
                         }] output
                         [ {
                           name: "y"
                           data_type: TYPE_FP32
                           dims: [ 1 ]
                         }])pb")
                  .ok());
}

TEST(ValidateModelConfig, RejectsZeroLatestVersions) {
  ExpectInvalid(Parse(R"pb(version_policy { latest {} })pb"), {"num_versions", "> 0"});
}

TEST(ValidateModelConfig, RejectsEmptySpecificVersions) {
  ExpectInvalid(Parse(R"pb(version_policy { specific {} })pb"),
                {"version_policy.specific", "no versions"});
}

TEST(ValidateModelConfig, RejectsNonPositiveSpecificVersion) {
  ExpectInvalid(Parse(R"pb(version_policy { specific { versions: [ 1, 0 ] } })pb"),
                {"version_policy.specific", "version 0"});
}

TEST(ValidateModelConfig, RejectsModelFilenameWithPath) {
  ExpectInvalid(Parse(R"pb(default_model_filename: "../../etc/passwd")pb"),
                {"default_model_filename", "not a path"});
  ExpectInvalid(Parse(R"pb(default_model_filename: "..")pb"), {"default_model_filename"});
}

// --- ModelSpecFromConfig, InstanceCount ---

TEST(ModelSpecFromConfig, CopiesTensorsAndParameters) {
  auto parsed = Parse(R"pb(
    platform: "p"
    default_model_filename: "f.pt" input
    [ {
      name: "r"
      data_type: TYPE_STRING
      dims: [ 4 ]
      reshape { shape: [ 2, 2 ] }
    }]
    parameters {
      key: "threads"
      value { string_value: "2" }
    }
  )pb");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ModelSpec spec = ModelSpecFromConfig(parsed->config);
  EXPECT_EQ(spec.name, "m");
  EXPECT_EQ(spec.backend, "identity");
  EXPECT_EQ(spec.platform, "p");
  EXPECT_EQ(spec.model_filename, "f.pt");
  EXPECT_EQ(spec.max_batch_size, 8);
  ASSERT_EQ(spec.inputs.size(), 2u);
  EXPECT_EQ(spec.inputs[0].name, "x");
  EXPECT_EQ(spec.inputs[0].datatype, DataType::kFp32);
  EXPECT_EQ(spec.inputs[0].dims, (Shape{2, -1}));
  EXPECT_FALSE(spec.inputs[0].reshape.has_value());
  EXPECT_EQ(spec.inputs[1].datatype, DataType::kBytes);
  EXPECT_EQ(spec.inputs[1].reshape, (Shape{2, 2}));
  ASSERT_EQ(spec.outputs.size(), 1u);
  EXPECT_EQ(spec.outputs[0].name, "y");
  EXPECT_EQ(spec.parameters.at("threads"), "2");
  EXPECT_EQ(spec.version, 0);
  EXPECT_TRUE(spec.version_dir.empty());
}

TEST(InstanceCount, SumsGroupsAndDefaultsToOne) {
  inference::ModelConfig config;
  EXPECT_EQ(InstanceCount(config), 1);
  config.add_instance_group()->set_count(3);
  EXPECT_EQ(InstanceCount(config), 3);
  config.add_instance_group();  // count absent: one instance
  EXPECT_EQ(InstanceCount(config), 4);
}

TEST(ReadModelConfig, MissingFileIsNotFound) {
  auto parsed = ReadModelConfig("/nonexistent/inferd/m", "m");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(parsed.status().message(), AllOf(HasSubstr("model 'm'"), HasSubstr("config.pbtxt")));
}

}  // namespace
}  // namespace inferd
