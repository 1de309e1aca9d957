/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2prdma tracepoints, <tracefs>/events/p2prdma/: what the NIC's regions
 * were mapped onto and when, the invalidations and revokes exporters sent,
 * and strict registrations refused. "dev" is the NIC's PCI name, "mr" the
 * region's handle (0 while a registration is still under way).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM p2prdma

#if !defined(_P2PRDMA_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _P2PRDMA_TRACE_H_

#include <linux/string.h>
#include <linux/tracepoint.h>

#include "p2prdma.h"

#define p2prdma_show_backing(b) \
	__print_symbolic(b, \
			 { P2PRDMA_BACKING_UNMAPPED, "unmapped" }, \
			 { P2PRDMA_BACKING_PEER, "peer" }, \
			 { P2PRDMA_BACKING_SYSTEM, "system" })

TRACE_EVENT(p2prdma_map,
	    TP_PROTO(const struct p2prdma_mr *mr, u32 why),
	    TP_ARGS(mr, why),
	    TP_STRUCT__entry(__array(char, dev, 32)
			     __field(u32, mr)
			     __field(u32, why)
			     __field(u32, backing)
			     __field(u32, bus_addr)
			     __field(u32, segments)
			     __field(u32, map_count)
			     __field(u64, dma)),
	    TP_fast_assign(strscpy(__entry->dev, dev_name(&mr->nic->pci->dev),
				   sizeof(__entry->dev));
			   __entry->mr = mr->handle;
			   __entry->why = why;
			   __entry->backing = mr->backing;
			   __entry->bus_addr = mr->bus_addr;
			   __entry->segments = mr->num_segments;
			   __entry->map_count = mr->map_count;
			   __entry->dma = mr->npages ? mr->pages[0] + mr->pgoff : 0;),
	    TP_printk("dev=%s mr=%u reason=%s backing=%s bus_addr=%u segments=%u maps=%u dma=%#llx",
		      __entry->dev, __entry->mr,
		      __print_symbolic(__entry->why,
				       { P2PRDMA_TRACE_MAP_FIRST, "first-use" },
				       { P2PRDMA_TRACE_MAP_INVALIDATED, "invalidated" },
				       { P2PRDMA_TRACE_MAP_AGAIN, "again" }),
		      p2prdma_show_backing(__entry->backing), __entry->bus_addr,
		      __entry->segments, __entry->map_count, __entry->dma));

DECLARE_EVENT_CLASS(p2prdma_mr_event,
		    TP_PROTO(const struct p2prdma_mr *mr),
		    TP_ARGS(mr),
		    TP_STRUCT__entry(__array(char, dev, 32)
				     __field(u32, mr)
				     __field(u32, pinned)
				     __field(u32, backing)
				     __field(u32, invalidations)),
		    TP_fast_assign(strscpy(__entry->dev, dev_name(&mr->nic->pci->dev),
					   sizeof(__entry->dev));
				   __entry->mr = mr->handle;
				   __entry->pinned = mr->pinned;
				   __entry->backing = mr->backing;
				   __entry->invalidations = mr->invalidate_count;),
		    TP_printk("dev=%s mr=%u pinned=%u backing=%s invalidations=%u",
			      __entry->dev, __entry->mr, __entry->pinned,
			      p2prdma_show_backing(__entry->backing),
			      __entry->invalidations));

/* an exporter's move_notify/invalidate_mappings reached a mapped region */
DEFINE_EVENT(p2prdma_mr_event, p2prdma_invalidate,
	     TP_PROTO(const struct p2prdma_mr *mr),
	     TP_ARGS(mr));

/* ... and the region was pinned: the exporter took the memory away */
DEFINE_EVENT(p2prdma_mr_event, p2prdma_revoke,
	     TP_PROTO(const struct p2prdma_mr *mr),
	     TP_ARGS(mr));

TRACE_EVENT(p2prdma_refuse,
	    TP_PROTO(const struct p2prdma_mr *mr, u32 stage),
	    TP_ARGS(mr, stage),
	    TP_STRUCT__entry(__array(char, dev, 32)
			     __array(char, exporter, 32)
			     __field(u32, mr)
			     __field(u32, stage)
			     __field(u32, backing)),
	    TP_fast_assign(strscpy(__entry->dev, dev_name(&mr->nic->pci->dev),
				   sizeof(__entry->dev));
			   strscpy(__entry->exporter, mr->dmabuf->exp_name ?: "",
				   sizeof(__entry->exporter));
			   __entry->mr = mr->handle;
			   __entry->stage = stage;
			   __entry->backing = mr->backing;),
	    TP_printk("dev=%s mr=%u exporter=%s stage=%s backing=%s",
		      __entry->dev, __entry->mr, __entry->exporter,
		      __print_symbolic(__entry->stage,
				       { P2PRDMA_REFUSED_ATTACH, "attach" },
				       { P2PRDMA_REFUSED_MAP, "map" },
				       { P2PRDMA_TRACE_REFUSED_REMAP, "re-map" }),
		      p2prdma_show_backing(__entry->backing)));

#endif /* _P2PRDMA_TRACE_H_ */

/* found through -I$(src) (Kbuild's CFLAGS_p2prdma_trace.o) */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE p2prdma_trace
#include <trace/define_trace.h>
