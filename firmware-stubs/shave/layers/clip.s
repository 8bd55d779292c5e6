; clip: out = min(max(x, low), high) lane by lane (vau.max.f16, then vau.min.f16), low <= high
; and neither NaN (the layer checks). Both are exact; a NaN gives the default NaN 0x7E00, and
; signed zeros come out as max and min give them (max(-0, +0) = +0, min(-0, +0) = -0).
; Job (emu/graph/job.ts), split by elements: the share is count 8-lane vectors from vector
; `first` of in0 and out, both dense HWC8 with the same strides. Params: word 0 low, word 1
; high (f16).
;
; Software-pipelined over groups of 8 vectors, two VAU operations a vector (16 bundles a
; pass): vector j of a group is loaded in bundle 2j, its max issues 5 bundles later, its min 8
; later and its store 11 later (stores 0-2 in the same pass, 3-7 in the next). Every register
; is loaded or written again only in the bundle that last reads it or later, so the kernel is
; right for loads of 3 cycles (CMX) and of 5 (DDR). A pass before the loop fills the pipeline,
; one after it drains it, and the count % 8 vectors left over go through a plain loop.
        .code
clip:   lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 64       ; in0, out
        lsu0.ld.i32 i3, i18, 104 || lsu1.ld.i32 i4, i18, 108    ; first, count
        lsu0.ld.u16 i5, i18, 128 || lsu1.ld.u16 i6, i18, 132    ; low, high
        nop 3
        iau.shl i3, i3, 4 || cmu.bcst.i16 v1, i5
        iau.add i1, i1, i3 || cmu.bcst.i16 v2, i6
        iau.add i2, i2, i3 || lsu0.ldil i6, 0
        iau.shr i7, i4, 3                                       ; i7: groups of 8
        iau.and i8, i4, 7 || cmu.cmii.i32 i7, i6                ; i8: vectors left over
        peu.pc1c eq || bru.bra tail
        iau.sub i9, i7, 1                                       ; passes of the loop
        nop 5
        lsu0.ldi.v128 v8, i1, 16
        nop
        lsu0.ldi.v128 v9, i1, 16
        nop
        lsu0.ldi.v128 v10, i1, 16
        vau.max.f16 v16, v8, v1
        lsu0.ldi.v128 v11, i1, 16
        vau.max.f16 v17, v9, v1
        lsu0.ldi.v128 v12, i1, 16 || vau.min.f16 v16, v16, v2
        vau.max.f16 v18, v10, v1
        lsu0.ldi.v128 v13, i1, 16 || vau.min.f16 v17, v17, v2
        vau.max.f16 v19, v11, v1 || lsu1.sti.v128 v16, i2, 16
        lsu0.ldi.v128 v14, i1, 16 || vau.min.f16 v18, v18, v2
        vau.max.f16 v20, v12, v1 || lsu1.sti.v128 v17, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || vau.min.f16 v19, v19, v2
        vau.max.f16 v21, v13, v1 || lsu1.sti.v128 v18, i2, 16 || bru.rpl i9, drain
        lsu0.ldi.v128 v8, i1, 16 || vau.min.f16 v20, v20, v2
        vau.max.f16 v22, v14, v1 || lsu1.sti.v128 v19, i2, 16
        lsu0.ldi.v128 v9, i1, 16 || vau.min.f16 v21, v21, v2
        vau.max.f16 v23, v15, v1 || lsu1.sti.v128 v20, i2, 16
        lsu0.ldi.v128 v10, i1, 16 || vau.min.f16 v22, v22, v2
        vau.max.f16 v16, v8, v1 || lsu1.sti.v128 v21, i2, 16
        lsu0.ldi.v128 v11, i1, 16 || vau.min.f16 v23, v23, v2
        vau.max.f16 v17, v9, v1 || lsu1.sti.v128 v22, i2, 16
        lsu0.ldi.v128 v12, i1, 16 || vau.min.f16 v16, v16, v2
        vau.max.f16 v18, v10, v1 || lsu1.sti.v128 v23, i2, 16
        lsu0.ldi.v128 v13, i1, 16 || vau.min.f16 v17, v17, v2
        vau.max.f16 v19, v11, v1 || lsu1.sti.v128 v16, i2, 16
        lsu0.ldi.v128 v14, i1, 16 || vau.min.f16 v18, v18, v2
        vau.max.f16 v20, v12, v1 || lsu1.sti.v128 v17, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || vau.min.f16 v19, v19, v2
        vau.max.f16 v21, v13, v1 || lsu1.sti.v128 v18, i2, 16
drain:  vau.min.f16 v20, v20, v2
        vau.max.f16 v22, v14, v1 || lsu1.sti.v128 v19, i2, 16
        vau.min.f16 v21, v21, v2
        vau.max.f16 v23, v15, v1 || lsu1.sti.v128 v20, i2, 16
        vau.min.f16 v22, v22, v2
        lsu1.sti.v128 v21, i2, 16
        vau.min.f16 v23, v23, v2
        lsu1.sti.v128 v22, i2, 16
        nop
        lsu1.sti.v128 v23, i2, 16
tail:   bru.rpl i8, done
        lsu0.ldi.v128 v3, i1, 16
        nop 4
        vau.max.f16 v4, v3, v1
        nop
        vau.min.f16 v4, v4, v2
        nop
        lsu0.sti.v128 v4, i2, 16
done:   bru.swih 0
