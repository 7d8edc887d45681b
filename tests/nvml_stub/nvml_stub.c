/*
 * A stand-in libnvidia-ml.so.1 for testing the NVIDIA probe on machines without an NVIDIA GPU.
 *
 * It exports only the NVML entry points the probe reaches through pynvml, so a probe that starts
 * calling another one fails the tests with "Function Not Found". Its answers come from environment
 * variables:
 *   NVML_STUB_LOG            file to which every call appends its function name, one per line
 *   NVML_STUB_INIT_ERROR     nvmlReturn_t that nvmlInitWithFlags returns (default 0, success)
 *   NVML_STUB_DRIVER         driver version string            NVML_STUB_CUDA   e.g. 12080
 *   NVML_STUB_COUNT          number of GPUs
 *   NVML_STUB_DEV<i>_NAME / _UUID / _CC ("9.0") / _MEM (bytes) / _MEM_ERROR (nvmlReturn_t)
 *   NVML_STUB_DEV<i>_MIG     "1" or "0"; unset means the GPU cannot do MIG (NOT_SUPPORTED)
 *   NVML_STUB_DEV<i>_MIG_UUIDS  comma-separated UUIDs of its MIG instances
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define MAX_GPUS 8
#define MAX_MIG 7

typedef struct {
    int gpu;
    int mig; /* -1 for the GPU itself */
} stub_device;

typedef stub_device *nvmlDevice_t;

typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

static stub_device gpus[MAX_GPUS];
static stub_device migs[MAX_GPUS][MAX_MIG];
static int initialised = 0;

static void log_call(const char *name) {
    const char *path = getenv("NVML_STUB_LOG");
    FILE *log;
    if (!path || !(log = fopen(path, "a"))) return;
    fprintf(log, "%s\n", name);
    fclose(log);
}

static const char *device_env(int gpu, const char *field) {
    char key[64];
    snprintf(key, sizeof key, "NVML_STUB_DEV%d_%s", gpu, field);
    return getenv(key);
}

static int env_int(const char *value, int fallback) {
    return value ? atoi(value) : fallback;
}

static int copy_out(const char *value, char *out, unsigned int length) {
    if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(out, value);
    return NVML_SUCCESS;
}

/* The n-th comma-separated item of list, copied into out; 0 when there is none. */
static int nth_item(const char *list, int n, char *out, size_t size) {
    const char *start = list;
    for (int i = 0; start && i < n; i++) {
        start = strchr(start, ',');
        if (start) start++;
    }
    if (!start || !*start) return 0;
    size_t length = strcspn(start, ",");
    if (length >= size) length = size - 1;
    memcpy(out, start, length);
    out[length] = '\0';
    return 1;
}

int nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    log_call("nvmlInitWithFlags");
    int error = env_int(getenv("NVML_STUB_INIT_ERROR"), NVML_SUCCESS);
    if (error == NVML_SUCCESS) initialised = 1;
    return error;
}

int nvmlShutdown(void) {
    log_call("nvmlShutdown");
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    initialised = 0;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(int result) {
    log_call("nvmlErrorString");
    static char text[64];
    snprintf(text, sizeof text, "stub error %d", result);
    return text;
}

int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    log_call("nvmlSystemGetDriverVersion");
    const char *value = getenv("NVML_STUB_DRIVER");
    return value ? copy_out(value, version, length) : NVML_ERROR_NOT_SUPPORTED;
}

int nvmlSystemGetCudaDriverVersion_v2(int *version) {
    log_call("nvmlSystemGetCudaDriverVersion_v2");
    *version = env_int(getenv("NVML_STUB_CUDA"), 0);
    return *version ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

int nvmlDeviceGetCount_v2(unsigned int *count) {
    log_call("nvmlDeviceGetCount_v2");
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    *count = (unsigned int)env_int(getenv("NVML_STUB_COUNT"), 0);
    return NVML_SUCCESS;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    log_call("nvmlDeviceGetHandleByIndex_v2");
    if (index >= (unsigned int)env_int(getenv("NVML_STUB_COUNT"), 0) || index >= MAX_GPUS)
        return NVML_ERROR_INVALID_ARGUMENT;
    gpus[index].gpu = (int)index;
    gpus[index].mig = -1;
    *device = &gpus[index];
    return NVML_SUCCESS;
}

int nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    log_call("nvmlDeviceGetName");
    const char *value = device_env(device->gpu, "NAME");
    return copy_out(value ? value : "NVIDIA Stub GPU", name, length);
}

int nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    log_call("nvmlDeviceGetUUID");
    char item[96];
    if (device->mig < 0) {
        const char *value = device_env(device->gpu, "UUID");
        return value ? copy_out(value, uuid, length) : NVML_ERROR_NOT_SUPPORTED;
    }
    if (!nth_item(device_env(device->gpu, "MIG_UUIDS"), device->mig, item, sizeof item))
        return NVML_ERROR_NOT_FOUND;
    return copy_out(item, uuid, length);
}

int nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor) {
    log_call("nvmlDeviceGetCudaComputeCapability");
    const char *value = device_env(device->gpu, "CC");
    if (!value || sscanf(value, "%d.%d", major, minor) != 2) return NVML_ERROR_NOT_SUPPORTED;
    return NVML_SUCCESS;
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    log_call("nvmlDeviceGetMemoryInfo");
    int error = env_int(device_env(device->gpu, "MEM_ERROR"), NVML_SUCCESS);
    if (error != NVML_SUCCESS) return error;
    const char *value = device_env(device->gpu, "MEM");
    memory->total = value ? strtoull(value, NULL, 10) : 0;
    memory->used = memory->total / 4;
    memory->free = memory->total - memory->used;
    return NVML_SUCCESS;
}

int nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
    log_call("nvmlDeviceGetMigMode");
    const char *value = device_env(device->gpu, "MIG");
    if (!value) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending = (unsigned int)atoi(value);
    return NVML_SUCCESS;
}

int nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count) {
    log_call("nvmlDeviceGetMaxMigDeviceCount");
    if (!device_env(device->gpu, "MIG")) return NVML_ERROR_NOT_SUPPORTED;
    *count = MAX_MIG;
    return NVML_SUCCESS;
}

int nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t *mig) {
    log_call("nvmlDeviceGetMigDeviceHandleByIndex");
    char item[96];
    if (index >= MAX_MIG) return NVML_ERROR_INVALID_ARGUMENT;
    if (!nth_item(device_env(device->gpu, "MIG_UUIDS"), (int)index, item, sizeof item))
        return NVML_ERROR_NOT_FOUND;
    migs[device->gpu][index].gpu = device->gpu;
    migs[device->gpu][index].mig = (int)index;
    *mig = &migs[device->gpu][index];
    return NVML_SUCCESS;
}
