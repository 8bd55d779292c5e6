; relu: lane by lane, plain ReLU max(x, +0) when the slope s is 0, leaky ReLU max(x, +0 + x * s)
; for 0 < s <= 1 (the product's sum with +0, one vau.mac.f16, turns -0 into +0). Either way
; -0 gives +0 and a NaN gives the default NaN; plain ReLU keeps +inf and gives +0 for -inf.
; Job (emu/graph/job.ts), split by elements: the share is count 8-lane vectors from vector
; `first` of in0 and out, both dense HWC8 with the same strides.
; Params: word 0 the slope (f16).
;
; Both bodies are software-pipelined over groups of 8 vectors: a pass loads group p while it
; finishes group p - 1, and every register is loaded (or written) again only in the bundle that
; last reads it or later, so the kernel is right for loads of 3 cycles (CMX) and of 5 (DDR), with
; or without stall cycles. A pass before the loop fills the pipeline, one after it drains it, and
; the count % 8 vectors left over go through a plain loop.
        .code
relu:   lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 64       ; in0, out
        lsu0.ld.i32 i3, i18, 104 || lsu1.ld.i32 i4, i18, 108    ; first, count
        lsu0.ld.u16 i5, i18, 128 || vau.xor v0, v0, v0          ; slope; v0 = +0
        lsu0.ldil i6, 0
        nop 2
        iau.shl i3, i3, 4
        iau.add i1, i1, i3 || cmu.bcst.i16 v1, i5
        iau.add i2, i2, i3
        iau.shr i7, i4, 3                                       ; i7: groups of 8
        iau.and i8, i4, 7 || cmu.cmii.i32 i5, i6                ; i8: vectors left over
        peu.pc1c neq || bru.bra leaky
        iau.sub i9, i7, 1                                       ; passes of the loop
        cmu.cmii.i32 i7, i6
        nop 4

; Plain: x_j in v8-v15, max(x_j, +0) in v16-v23. Vector j of a group is loaded in bundle j,
; its max is taken 5 bundles later and stored in bundle j of the next pass.
plain:  peu.pc1c eq || bru.bra plainTail
        nop 6
        lsu0.ldi.v128 v8, i1, 16
        lsu0.ldi.v128 v9, i1, 16
        lsu0.ldi.v128 v10, i1, 16
        lsu0.ldi.v128 v11, i1, 16
        lsu0.ldi.v128 v12, i1, 16
        lsu0.ldi.v128 v13, i1, 16 || vau.max.f16 v16, v8, v0
        lsu0.ldi.v128 v14, i1, 16 || vau.max.f16 v17, v9, v0
        lsu0.ldi.v128 v15, i1, 16 || vau.max.f16 v18, v10, v0 || bru.rpl i9, plainDrain
        lsu0.ldi.v128 v8, i1, 16 || vau.max.f16 v19, v11, v0 || lsu1.sti.v128 v16, i2, 16
        lsu0.ldi.v128 v9, i1, 16 || vau.max.f16 v20, v12, v0 || lsu1.sti.v128 v17, i2, 16
        lsu0.ldi.v128 v10, i1, 16 || vau.max.f16 v21, v13, v0 || lsu1.sti.v128 v18, i2, 16
        lsu0.ldi.v128 v11, i1, 16 || vau.max.f16 v22, v14, v0 || lsu1.sti.v128 v19, i2, 16
        lsu0.ldi.v128 v12, i1, 16 || vau.max.f16 v23, v15, v0 || lsu1.sti.v128 v20, i2, 16
        lsu0.ldi.v128 v13, i1, 16 || vau.max.f16 v16, v8, v0 || lsu1.sti.v128 v21, i2, 16
        lsu0.ldi.v128 v14, i1, 16 || vau.max.f16 v17, v9, v0 || lsu1.sti.v128 v22, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || vau.max.f16 v18, v10, v0 || lsu1.sti.v128 v23, i2, 16
plainDrain:
        vau.max.f16 v19, v11, v0 || lsu1.sti.v128 v16, i2, 16
        vau.max.f16 v20, v12, v0 || lsu1.sti.v128 v17, i2, 16
        vau.max.f16 v21, v13, v0 || lsu1.sti.v128 v18, i2, 16
        vau.max.f16 v22, v14, v0 || lsu1.sti.v128 v19, i2, 16
        vau.max.f16 v23, v15, v0 || lsu1.sti.v128 v20, i2, 16
        lsu1.sti.v128 v21, i2, 16
        lsu1.sti.v128 v22, i2, 16
        lsu1.sti.v128 v23, i2, 16
plainTail:
        bru.rpl i8, plainEnd
        lsu0.ldi.v128 v2, i1, 16
        nop 4
        vau.max.f16 v3, v2, v0
        nop
        lsu0.sti.v128 v3, i2, 16
plainEnd:
        bru.swih 0

; Leaky: x_j in v8-v15, the accumulator of x_j * s (then the max) in v16-v23. Vector j of a
; group is loaded in bundle 2j; its accumulator is cleared 4 bundles later, the mac issues 5
; later, the max 8 later and the store 11 later (stores 0-2 in the same pass, 3-7 in the next).
leaky:  peu.pc1c eq || bru.bra leakyTail
        nop 6
        lsu0.ldi.v128 v8, i1, 16
        nop
        lsu0.ldi.v128 v9, i1, 16
        nop
        lsu0.ldi.v128 v10, i1, 16 || cmu.cpvv v16, v0
        vau.mac.f16 v16, v8, v1
        lsu0.ldi.v128 v11, i1, 16 || cmu.cpvv v17, v0
        vau.mac.f16 v17, v9, v1
        lsu0.ldi.v128 v12, i1, 16 || cmu.cpvv v18, v0 || vau.max.f16 v16, v8, v16
        vau.mac.f16 v18, v10, v1
        lsu0.ldi.v128 v13, i1, 16 || cmu.cpvv v19, v0 || vau.max.f16 v17, v9, v17
        vau.mac.f16 v19, v11, v1 || lsu1.sti.v128 v16, i2, 16
        lsu0.ldi.v128 v14, i1, 16 || cmu.cpvv v20, v0 || vau.max.f16 v18, v10, v18
        vau.mac.f16 v20, v12, v1 || lsu1.sti.v128 v17, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || cmu.cpvv v21, v0 || vau.max.f16 v19, v11, v19
        vau.mac.f16 v21, v13, v1 || lsu1.sti.v128 v18, i2, 16 || bru.rpl i9, leakyDrain
        lsu0.ldi.v128 v8, i1, 16 || cmu.cpvv v22, v0 || vau.max.f16 v20, v12, v20
        vau.mac.f16 v22, v14, v1 || lsu1.sti.v128 v19, i2, 16
        lsu0.ldi.v128 v9, i1, 16 || cmu.cpvv v23, v0 || vau.max.f16 v21, v13, v21
        vau.mac.f16 v23, v15, v1 || lsu1.sti.v128 v20, i2, 16
        lsu0.ldi.v128 v10, i1, 16 || cmu.cpvv v16, v0 || vau.max.f16 v22, v14, v22
        vau.mac.f16 v16, v8, v1 || lsu1.sti.v128 v21, i2, 16
        lsu0.ldi.v128 v11, i1, 16 || cmu.cpvv v17, v0 || vau.max.f16 v23, v15, v23
        vau.mac.f16 v17, v9, v1 || lsu1.sti.v128 v22, i2, 16
        lsu0.ldi.v128 v12, i1, 16 || cmu.cpvv v18, v0 || vau.max.f16 v16, v8, v16
        vau.mac.f16 v18, v10, v1 || lsu1.sti.v128 v23, i2, 16
        lsu0.ldi.v128 v13, i1, 16 || cmu.cpvv v19, v0 || vau.max.f16 v17, v9, v17
        vau.mac.f16 v19, v11, v1 || lsu1.sti.v128 v16, i2, 16
        lsu0.ldi.v128 v14, i1, 16 || cmu.cpvv v20, v0 || vau.max.f16 v18, v10, v18
        vau.mac.f16 v20, v12, v1 || lsu1.sti.v128 v17, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || cmu.cpvv v21, v0 || vau.max.f16 v19, v11, v19
        vau.mac.f16 v21, v13, v1 || lsu1.sti.v128 v18, i2, 16
leakyDrain:
        cmu.cpvv v22, v0 || vau.max.f16 v20, v12, v20
        vau.mac.f16 v22, v14, v1 || lsu1.sti.v128 v19, i2, 16
        cmu.cpvv v23, v0 || vau.max.f16 v21, v13, v21
        vau.mac.f16 v23, v15, v1 || lsu1.sti.v128 v20, i2, 16
        vau.max.f16 v22, v14, v22
        lsu1.sti.v128 v21, i2, 16
        vau.max.f16 v23, v15, v23
        lsu1.sti.v128 v22, i2, 16
        nop
        lsu1.sti.v128 v23, i2, 16
leakyTail:
        bru.rpl i8, done
        lsu0.ldi.v128 v2, i1, 16 || cmu.cpvv v3, v0
        nop 4
        vau.mac.f16 v3, v2, v1
        nop 2
        vau.max.f16 v3, v2, v3
        nop
        lsu0.sti.v128 v3, i2, 16
done:   bru.swih 0
