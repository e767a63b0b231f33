// Emulation build only: the CUDA names on HIP-CPU (see ../cuda_shim.h).
#pragma once

#include "../cuda_shim.h"
