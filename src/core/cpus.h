// SPDX-License-Identifier: Apache-2.0
// How many CPUs this process may run on: the threads a server starts by default follow it.
#pragma once

namespace inferd {

// The CPUs in the process's affinity mask (what `taskset`, a cgroup cpuset or a container's
// `--cpuset-cpus` leaves it), at least 1; the machine's count when the mask cannot be read.
// A CPU quota (cgroup cpu.max, Kubernetes' `limits.cpu`) is not a mask: it is not read here.
int AvailableCpus();

}  // namespace inferd
