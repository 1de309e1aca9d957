/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2pgpu tracepoints, <tracefs>/events/p2pgpu/: each attachment's decision,
 * each mapping handed out, moves between VRAM and system memory, the
 * invalidations importers are sent and the revokes of unbind. "bo" is the
 * buffer's mmap offset (what DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET returns), the
 * one name of a buffer that every process sharing it can learn.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM p2pgpu

#if !defined(_P2PGPU_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _P2PGPU_TRACE_H_

#include <linux/string.h>
#include <linux/tracepoint.h>

#include <drm/drm_vma_manager.h>

#include "p2pgpu.h"

#define p2pgpu_trace_bo(bo) drm_vma_node_offset_addr(&(bo)->tbo.base.vma_node)

#define p2pgpu_show_mapping(m) \
	__print_symbolic(m, \
			 { P2PGPU_MAPPING_NONE, "none" }, \
			 { P2PGPU_MAPPING_P2P, "p2p" }, \
			 { P2PGPU_MAPPING_STAGED, "staged" })

#define p2pgpu_show_mem(t) \
	__print_symbolic(t, \
			 { TTM_PL_SYSTEM, "system" }, \
			 { TTM_PL_TT, "tt" }, \
			 { TTM_PL_VRAM, "vram" })

TRACE_EVENT(p2pgpu_attach,
	    TP_PROTO(struct p2pgpu_bo *bo, const struct p2pgpu_attach *rec),
	    TP_ARGS(bo, rec),
	    TP_STRUCT__entry(__field(u64, bo)
			     __array(char, importer, 32)
			     __array(char, driver, 32)
			     __field(u32, decision)
			     __field(u32, reason)
			     __field(s32, distance)
			     __field(u32, flags)),
	    TP_fast_assign(__entry->bo = p2pgpu_trace_bo(bo);
			   strscpy(__entry->importer, rec->importer,
				   sizeof(__entry->importer));
			   strscpy(__entry->driver, rec->importer_driver,
				   sizeof(__entry->driver));
			   __entry->decision = rec->decision;
			   __entry->reason = rec->reason;
			   __entry->distance = rec->distance;
			   __entry->flags = rec->flags;),
	    TP_printk("bo=%#llx importer=%s driver=%s decision=%s reason=%s distance=%d flags=%#x",
		      __entry->bo, __entry->importer, __entry->driver,
		      p2pgpu_show_mapping(__entry->decision),
		      __print_symbolic(__entry->reason,
				       { P2PGPU_REASON_NONE, "none" },
				       { P2PGPU_REASON_IMPORTER_NO_P2P, "importer-no-p2p" },
				       { P2PGPU_REASON_IMPORTER_NOT_PCI, "importer-not-pci" },
				       { P2PGPU_REASON_NO_COMMON_SWITCH, "no-common-switch" },
				       { P2PGPU_REASON_ACS_REDIRECT, "acs-redirect" },
				       { P2PGPU_REASON_KERNEL_NO_P2PDMA, "kernel-no-p2pdma" },
				       { P2PGPU_REASON_DISABLED_BY_PARAM, "disabled-by-param" },
				       { P2PGPU_REASON_PINNED_IN_SYSTEM, "pinned-in-system" },
				       { P2PGPU_REASON_SYSTEM_PLACEMENT, "system-placement" },
				       { P2PGPU_REASON_MAP_REFUSED, "map-refused" }),
		      __entry->distance, __entry->flags));

TRACE_EVENT(p2pgpu_map,
	    TP_PROTO(struct p2pgpu_bo *bo, const struct p2pgpu_attach *rec,
		     const struct sg_table *sgt),
	    TP_ARGS(bo, rec, sgt),
	    TP_STRUCT__entry(__field(u64, bo)
			     __array(char, importer, 32)
			     __field(u32, mapping)
			     __field(u32, bus_addr)
			     __field(u32, nents)
			     __field(u64, dma)),
	    TP_fast_assign(__entry->bo = p2pgpu_trace_bo(bo);
			   strscpy(__entry->importer, rec->importer,
				   sizeof(__entry->importer));
			   __entry->mapping = rec->mapping;
			   __entry->bus_addr = !!(rec->flags & P2PGPU_ATTACH_BUS_ADDR);
			   __entry->nents = sgt->nents;
			   __entry->dma = sgt->nents ? sg_dma_address(sgt->sgl) : 0;),
	    TP_printk("bo=%#llx importer=%s mapping=%s bus_addr=%u nents=%u dma=%#llx",
		      __entry->bo, __entry->importer,
		      p2pgpu_show_mapping(__entry->mapping), __entry->bus_addr,
		      __entry->nents, __entry->dma));

TRACE_EVENT(p2pgpu_move,
	    TP_PROTO(struct p2pgpu_bo *bo, u32 from, u32 to, bool evict),
	    TP_ARGS(bo, from, to, evict),
	    TP_STRUCT__entry(__field(u64, bo)
			     __field(u64, size)
			     __field(u32, from)
			     __field(u32, to)
			     __field(u32, evict)),
	    TP_fast_assign(__entry->bo = p2pgpu_trace_bo(bo);
			   __entry->size = bo->tbo.base.size;
			   __entry->from = from;
			   __entry->to = to;
			   __entry->evict = evict;),
	    TP_printk("bo=%#llx size=%llu from=%s to=%s evict=%u",
		      __entry->bo, __entry->size, p2pgpu_show_mem(__entry->from),
		      p2pgpu_show_mem(__entry->to), __entry->evict));

DECLARE_EVENT_CLASS(p2pgpu_bo_event,
		    TP_PROTO(struct p2pgpu_bo *bo),
		    TP_ARGS(bo),
		    TP_STRUCT__entry(__field(u64, bo)
				     __field(u32, mem)
				     __field(u32, pinned)),
		    TP_fast_assign(__entry->bo = p2pgpu_trace_bo(bo);
				   __entry->mem = bo->tbo.resource ? bo->tbo.resource->mem_type :
				   TTM_PL_SYSTEM;
				   __entry->pinned = bo->tbo.pin_count;),
		    TP_printk("bo=%#llx mem=%s pinned=%u", __entry->bo,
			      p2pgpu_show_mem(__entry->mem), __entry->pinned));

/* the BO's importers are told to drop their mappings (it moves) */
DEFINE_EVENT(p2pgpu_bo_event, p2pgpu_invalidate,
	     TP_PROTO(struct p2pgpu_bo *bo),
	     TP_ARGS(bo));

/* unbind: the BO's importers lose it for good */
DEFINE_EVENT(p2pgpu_bo_event, p2pgpu_revoke,
	     TP_PROTO(struct p2pgpu_bo *bo),
	     TP_ARGS(bo));

#endif /* _P2PGPU_TRACE_H_ */

/* found through -I$(src) (Kbuild's CFLAGS_p2pgpu_trace.o) */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE p2pgpu_trace
#include <trace/define_trace.h>
