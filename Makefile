# dshield build. Objects per component come from Kbuild.
#
#   make                build/dshield-init, build/dshield, tools and tests
#   make image          build/image/ (kernel, initrd, cmdline, manifest); POLICY=file.json
#   make layer-trees    build/layers/{native,python,node}/: runtime layer file trees
#   make run            build everything and boot the image in QEMU
#   make check          every test: unit, sanitizers, host mode, QEMU
#   make fuzz           each libFuzzer target for FUZZ_SECONDS, FUZZ_JOBS at once
#   make bench          benchmarks, JSON summary
#   make repro-check    two image builds in different places must match
#
# Variants share this file: O=build (musl, static-pie, the shipped binaries),
# O=build/san (clang, ASan+UBSan, glibc: for tests), O=build/vg (gcc, glibc:
# tests under valgrind), O=build/fuzz (libFuzzer).

SHELL      := /bin/bash
O          ?= build
VARIANT    ?= release
DEPS       ?= build/deps
FUZZ_SECONDS ?= 30
FUZZ_JOBS  ?= 2
# Real TDX quotes and event logs (read-only extra fuzz seeds, when present).
TESTDATA   ?= ../shared/testdata/tdx
SOURCE_DATE_EPOCH ?= 0
export SOURCE_DATE_EPOCH
# V=1 shows full command lines.
ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

include Kbuild

# deps.mk's rule comes first in this file: say which goal a bare `make` means.
.DEFAULT_GOAL := all

VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# --- toolchains and flags ---------------------------------------------------

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2
DEFS       := -D_GNU_SOURCE -DDSHIELD_VERSION='"$(VERSION)"'
INC        := -I. -Inet \
              -isystem $(DEPS)/bearssl/inc \
              -isystem $(DEPS)/lwip/src/include \
              -isystem $(DEPS)/llhttp/include \
              -isystem $(DEPS)/jsmn/usr/include \
              -isystem $(DEPS)/linux-libc-dev/usr/include \
              -isystem $(DEPS)/linux-libc-dev/usr/include/x86_64-linux-gnu
REPRO      := -ffile-prefix-map=$(CURDIR)=. -fdebug-prefix-map=$(CURDIR)=.

ifeq ($(VARIANT),release)
# Debian's musl-gcc wrapper cannot link static-pie; the same gcc with our
# specs file (musl's, with rcrt1.o and a static-pie link line) can.
CC         := gcc -specs $(CURDIR)/tools/musl-static-pie.specs
OPT        := -O2 -fPIE -fstack-protector-strong -fno-plt -fcf-protection
LDFLAGS    := -s -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--build-id=none
else ifeq ($(VARIANT),san)
CC         := clang
OPT        := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS    := -fsanitize=address,undefined
else ifeq ($(VARIANT),fuzz)
CC         := clang
OPT        := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -DDSHIELD_FUZZ=1
LDFLAGS    := -fsanitize=fuzzer,address,undefined
else ifeq ($(VARIANT),vg)
# For valgrind: glibc, dynamic, no sanitizer runtime in the way.
CC         := gcc
OPT        := -O1 -g -fno-omit-frame-pointer
LDFLAGS    :=
else
$(error unknown VARIANT $(VARIANT): release, san, vg or fuzz)
endif

# BENCH_DEFS: a benchmark's build in its own O= directory (tests/bench/
# egress-bench: -DDSHIELD_BENCH_LOG_DISCARD); empty for everything shipped.
BENCH_DEFS ?=
CFLAGS     := -std=c11 $(OPT) $(WARN) $(DEFS) $(BENCH_DEFS) $(INC) $(REPRO) -MMD -MP
# Third-party code is compiled with its own warnings, not ours.
TP_CFLAGS  := -std=gnu11 $(OPT) -w $(REPRO) -D_GNU_SOURCE
# BearSSL reads unaligned 64-bit words through a union on x86 (its
# BR_LE_UNALIGNED, e.g. Poly1305 over a record's payload), which UBSan
# reports; under the sanitizers it is built with its portable byte loads.
ifneq ($(filter san fuzz,$(VARIANT)),)
BEARSSL_DEFS := -DBR_LE_UNALIGNED=0 -DBR_BE_UNALIGNED=0
endif

# --- third-party libraries from the pinned Debian sources --------------------

# The source lists below need the unpacked packages. deps.mk is remade
# (fetching and verifying the packages) before anything else, and make then
# restarts and reads the lists again, so a fresh clone builds in one go.
include $(DEPS)/deps.mk
$(DEPS)/deps.mk: image/packages.lock
	@bash tools/host-deps
	image/fetch $(DEPS)
	@echo '# image/fetch unpacked image/packages.lock here' > $@

BEARSSL_SRC := $(sort $(shell find $(DEPS)/bearssl/src -name '*.c' 2>/dev/null))
LWIP_SRC    := $(sort $(wildcard $(DEPS)/lwip/src/core/*.c $(DEPS)/lwip/src/core/ipv4/*.c \
                 $(DEPS)/lwip/src/core/ipv6/*.c)) $(DEPS)/lwip/src/netif/ethernet.c
LLHTTP_SRC  := $(sort $(wildcard $(DEPS)/llhttp/src/*.c))

tp_obj = $(patsubst $(DEPS)/%.c,$(O)/tp/%.o,$(1))

$(O)/tp/bearssl/%.o: $(DEPS)/bearssl/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(BEARSSL_DEFS) -I$(DEPS)/bearssl/inc -I$(DEPS)/bearssl/src -c $< -o $@
# lwIP's configuration, hooks included: lwIP's own objects and ours
# (below) are built again when it changes.
LWIP_CONF  := net/lwipopts.h net/lwip_hooks.h net/arch/cc.h
$(O)/tp/lwip/%.o: $(DEPS)/lwip/%.c $(LWIP_CONF)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TP_CFLAGS) -Inet -I$(DEPS)/lwip/src/include \
	  -isystem $(DEPS)/linux-libc-dev/usr/include -isystem $(DEPS)/linux-libc-dev/usr/include/x86_64-linux-gnu \
	  -c $< -o $@
$(O)/tp/llhttp/%.o: $(DEPS)/llhttp/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TP_CFLAGS) -I$(DEPS)/llhttp/include -c $< -o $@

$(O)/libbearssl.a: $(call tp_obj,$(BEARSSL_SRC))
$(O)/liblwip.a:    $(call tp_obj,$(LWIP_SRC))
$(O)/libllhttp.a:  $(call tp_obj,$(LLHTTP_SRC))
$(O)/lib%.a:
	@mkdir -p $(@D)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcsD $@ $(filter %.o,$^)

THIRD_PARTY := $(O)/liblwip.a $(O)/libllhttp.a $(O)/libbearssl.a

# --- our objects ----------------------------------------------------------------

# Our objects live under $(O)/obj, apart from the programs and from
# build/image (the image output directory).
OBJ_Y      := $(lib-y) $(init-y) $(keyd-y) $(net-y) $(tls-y) $(logd-y) $(sandboxd-y) $(crypto-y) $(fs-y) $(image-y) $(cli-y) \
              $(benchlib-y)
OBJS       := $(addprefix $(O)/obj/,$(OBJ_Y))
PROGS      := dshield-init dshield
TESTS      := $(addprefix $(O)/tests/,$(tests-y))
TESTPROGS  := $(addprefix $(O)/tests/bin/,$(testprog-y))
FUZZERS    := $(addprefix $(O)/fuzz/,$(fuzz-y))
TOOLS      := $(addprefix $(O)/tools/,$(tools-y))
BENCHES    := $(addprefix $(O)/bench/,$(bench-y))
ESCAPES    := $(addprefix $(O)/escape/,$(escape-y))

# lwIP's configuration reaches our objects through lwIP's headers, which
# are -isystem, so -MMD does not record it; it changes struct layouts.
$(O)/obj/%.o: %.c $(LWIP_CONF) | $(DEPS)/deps.mk
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Kbuild is a prerequisite so that an object added to it joins the archive
# even when its .o is older than the archive.
$(O)/libdshield.a: $(OBJS) Kbuild

LINK = $(CC) $(LDFLAGS) -o $@ $(1) -Wl,--start-group $(O)/libdshield.a $(THIRD_PARTY) -Wl,--end-group

$(O)/dshield-init: $(O)/obj/$(prog-dshield-init) $(O)/libdshield.a $(THIRD_PARTY)
	$(call msg,LD,$@)
	$(Q)$(call LINK,$<)
$(O)/dshield: $(O)/obj/$(prog-dshield) $(O)/libdshield.a $(THIRD_PARTY)
	$(call msg,LD,$@)
	$(Q)$(call LINK,$<)
$(O)/tests/%: $(O)/obj/tests/%.o $(O)/libdshield.a $(THIRD_PARTY)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(call LINK,$<)
$(O)/tests/bin/%: $(O)/obj/tests/%.o $(O)/libdshield.a $(THIRD_PARTY)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(call LINK,$<)
$(O)/tools/%: $(O)/obj/image/%.o $(O)/libdshield.a $(THIRD_PARTY)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(call LINK,$<)
$(O)/bench/%: $(O)/obj/tests/bench/%.o $(O)/libdshield.a $(THIRD_PARTY)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(call LINK,$<)
$(O)/fuzz/%: $(O)/obj/tests/fuzz/%.o $(O)/libdshield.a $(THIRD_PARTY)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(call LINK,$<)

# Programs that run inside a function sandbox (and later as a deployed
# native function in the VM): one file, static musl, in every variant.
ESCAPE_CC  := gcc -specs $(CURDIR)/tools/musl-static-pie.specs
$(O)/escape/%: tests/escape/%.c tests/tap.h | $(DEPS)/deps.mk
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(ESCAPE_CC) -std=c11 -O2 -fPIE $(WARN) $(DEFS) $(INC) $(REPRO) \
	  -Wl,-z,relro,-z,now -Wl,-z,noexecstack -o $@ $<

# The example native function (examples/functions/, docs/FUNCTIONS.md):
# deployed as it is, so built like the escape programs.
EXAMPLES   := $(O)/examples/hello-native
$(O)/examples/%: examples/functions/%.c | $(DEPS)/deps.mk
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(ESCAPE_CC) -std=c11 -O2 -fPIE $(WARN) $(REPRO) \
	  -Wl,-z,relro,-z,now -Wl,-z,noexecstack -s -o $@ $<

# A native function written in Go (tests/egress-go): static, Go's own
# resolver and TLS (CGO_ENABLED=0), built with the host's Go (golang-go,
# tools/host-deps) from the standard library alone: nothing is fetched.
GO_ESCAPES := $(O)/escape/fn_egress_go
$(O)/escape/fn_egress_go: tests/egress-go/main.go
	@mkdir -p $(@D) $(O)/go-cache
	$(call msg,GO,$@)
	$(Q)CGO_ENABLED=0 GOPROXY=off GOFLAGS=-trimpath GOCACHE=$(CURDIR)/$(O)/go-cache \
	  go build -ldflags=-s -o $@ $<

# Objects are never intermediate: keep them for incremental builds.
.SECONDARY:

.PHONY: all deps programs tests tools host-deps
ifeq ($(VARIANT),fuzz)
all: $(FUZZERS)
else
all: $(addprefix $(O)/,$(PROGS)) $(TESTS) $(TESTPROGS) $(TOOLS) $(BENCHES) $(ESCAPES) $(GO_ESCAPES) \
     $(EXAMPLES)
endif
programs: $(addprefix $(O)/,$(PROGS))
tests: $(TESTS) $(TESTPROGS) $(ESCAPES) $(GO_ESCAPES)
tools: $(TOOLS)
deps: $(DEPS)/deps.mk
host-deps:
	@bash tools/host-deps

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

# --- top-level jobs (only from the release variant) -------------------------------
ifeq ($(VARIANT),release)

.PHONY: size unit san-unit fuzz check bench image run repro-check e2e hosttest clean

bench: all
	@bash tools/host-deps
	tests/bench/run-bench

# The README's test command: every stage, one summary line (tools/check).
check:
	@bash tools/host-deps
	tools/check

size: $(O)/dshield-init
	@stat -c '%n %s bytes' $<

unit: all
	prove --exec '' $(TESTS)

san-unit:
	$(MAKE) VARIANT=san O=build/san tests
	ASAN_OPTIONS=detect_leaks=1 prove --exec '' $(addprefix build/san/tests/,$(tests-y))

# each target by tools/fuzz-run, FUZZ_JOBS at once; any that fails (a
# crash, or a fuzzer that could not start) fails the step
fuzz:
	$(MAKE) VARIANT=fuzz O=build/fuzz all
	@printf '%s\n' $(fuzz-y) | TESTDATA=$(TESTDATA) xargs -P $(FUZZ_JOBS) -n 1 tools/fuzz-run $(FUZZ_SECONDS)

# --- runtime layer trees (image/mklayer-tree, runtimes/*/recipe) ---------------
# build/layers/<name>/ is a layer's file tree, <name>.manifest describes it
# (written last, so it is the target). runtimes/README.md.
RUNTIME_LAYERS := native python node
LAYER_COMMON := image/mklayer-tree image/fetch image/apt.sh image/packages.lock \
                runtimes/base.recipe runtimes/debian.recipe $(wildcard runtimes/base/etc/*)
.PHONY: layer-trees
layer-trees: $(addprefix $(O)/layers/,$(addsuffix .manifest,$(RUNTIME_LAYERS)))
$(O)/layers/%.manifest: runtimes/%/recipe $(LAYER_COMMON)
	@bash tools/host-deps
	image/mklayer-tree $* $(O)/layers/$*
# A recipe's `file` lines copy files of its own directory (the workers):
# a change there rebuilds that tree, and only that one.
$(foreach l,$(RUNTIME_LAYERS),$(eval $(O)/layers/$(l).manifest: $(wildcard runtimes/$(l)/*)))

# --- image, repro-check, run (owner: image/, qemu-test/) ---------------------
# build/image: vmlinuz initrd cmdline manifest.json layers.img measurements.json buildinfo SHA256SUMS.
# measurements.json: what a TD booted from this image with QEMU -m 512M
# (qemu-test/lib.sh) and OVMF measures; the launcher hands it to the sim
# backend as fw_cfg opt/dshield/measurements. SHA256SUMS is rewritten to
# list it too (docs/MEASURE.md).
IMAGE_MEMORY := 512M
# The operator's policy (docs/POLICY.md), validated and put into the
# manifest in its canonical form; the example is a development policy.
POLICY     ?= examples/policy.json
# The runtime layers on build/image/layers.img (docs/LAYERS.md): NAME=DIR[:ENTRY]
# each; NAME= is an empty tree. By default the three runtime trees of
# `make layer-trees`, with each interpreter as the entry init checks at boot.
DEFAULT_LAYERS := native=$(O)/layers/native python=$(O)/layers/python:usr/bin/python3.13 \
                  node=$(O)/layers/node:usr/bin/node
LAYERS     ?= $(DEFAULT_LAYERS)
# The trees are built (or found up to date) when LAYERS names any of them.
IMAGE_TREES := $(if $(filter $(DEFAULT_LAYERS),$(LAYERS)),layer-trees)
image: programs tools $(IMAGE_TREES)
	DSHIELD_INIT=$(O)/dshield-init MKCPIO=$(O)/tools/mkcpio MKPOLICY=$(O)/tools/mkpolicy \
	  MKLAYERS=$(O)/tools/mklayers MKANCHORS=$(O)/tools/mkanchors LAYERS="$(LAYERS)" \
	  POLICY=$(POLICY) DEPS=$(DEPS) image/build-image $(O)/image
	$(O)/dshield measure --json --memory $(IMAGE_MEMORY) \
	  --firmware $(DEPS)/ovmf/usr/share/ovmf/OVMF.fd $(O)/image > $(O)/image/measurements.json.tmp
	mv -f $(O)/image/measurements.json.tmp $(O)/image/measurements.json
	cd $(O)/image && sha256sum buildinfo cmdline initrd layers.img manifest.json measurements.json vmlinuz \
	  > SHA256SUMS.tmp && mv -f SHA256SUMS.tmp SHA256SUMS

# Two builds from copies of the work tree, different paths/umask/TZ/locale.
repro-check:
	image/repro-check

# run: the image with a data disk for the encrypted store (a sparse 1 GiB
# file kept in $(O)/run-data.img: formatted at the first run, opened at the
# next, so the signed log outlives the VM; docs/STORE.md)
run: image
	@[ -f $(O)/run-data.img ] || truncate -s 1G $(O)/run-data.img
	qemu-test/run --image $(O)/image --keep --data-disk $(O)/run-data.img
# --- end image, repro-check, run ----------------------------------------------

clean:
	rm -rf $(O)/obj $(O)/*.a $(O)/tp $(O)/tests $(O)/tools $(O)/bench $(O)/fuzz $(O)/san \
	  $(O)/image $(O)/dshield $(O)/dshield-init

endif
