; scale: per channel, out = max(shift[c] + x * scale[c], floor), one vau.mac.f16 (the exact
; product plus the shift, rounded to f32 and then to f16) and a vau.max.f16 with floor +0 for a
; fused ReLU or -inf for none (then the max changes nothing: a NaN is already the default NaN).
; Without weights the scale is 1; without bias the shift is -0, so the result is x * scale
; rounded once, signed zeros included.
; Job (emu/graph/job.ts), split by rows: the share is output rows first .. first + count - 1;
; in0 and out dense HWC8 of one shape; weights = the scale vector, bias = the shift vector, each
; f16, C rounded up to 8 (pad lanes zero), or 0 when absent. Params: word 0: 1 fused ReLU, 0 none.
;
; The rows of a share are one run of pixels, so each group of 8 channels is one strided loop
; over all of them with its scale and shift in registers; the IAU steps both pointers by the
; pixel stride (one add a bundle, which makes two bundles a vector the bound). The loop is
; software-pipelined over groups of 8 vectors: vector j of a group is loaded in bundle 2j, its
; accumulator gets the shift 4 bundles later, the mac issues 5 later, the max 8 later and the
; store 11 later (stores 0-2 in the same pass, 3-7 in the next). Every register is loaded or
; written again only in the bundle that last reads it or later, so the kernel is right for
; loads of 3 cycles (CMX) and of 5 (DDR). A pass before the loop fills the pipeline, one after
; it drains it, and the pixels % 8 vectors left over go through a plain loop.
        .code
scale:  lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 64       ; in0, out
        lsu0.ld.i32 i3, i18, 4 || lsu1.ld.i32 i4, i18, 12       ; C, W
        lsu0.ld.i32 i5, i18, 96 || lsu1.ld.i32 i6, i18, 100     ; weights, bias
        lsu0.ld.i32 i7, i18, 104 || lsu1.ld.i32 i8, i18, 108    ; first, count
        lsu0.ld.i32 i9, i18, 128 || lsu1.ldil i24, 0            ; fused ReLU; i24 = 0
        lsu0.ldil i19, 16 || lsu1.ldil i20, 16                  ; steps of the scale and shift pointers
        nop
        iau.add i10, i3, 7
        iau.shr i10, i10, 3                                     ; i10: G, groups of 8 channels
        iau.shl i11, i10, 4                                     ; i11: pixel stride
        iau.mul i12, i4, i11                                    ; i12: row bytes
        iau.mul i14, i8, i4                                     ; i14: pixels of the share
        iau.mul i13, i7, i12                                    ; i13: the share's offset
        nop
        iau.add i1, i1, i13 || cmu.cmii.i32 i5, i24
        peu.pc1c eq || lsu0.ldil i5, ones || lsu1.ldih i5, ones
        peu.pc1c eq || lsu0.ldil i19, 0
        iau.shr i15, i14, 3 || cmu.cmii.i32 i6, i24             ; i15: groups of 8 vectors
        peu.pc1c eq || lsu0.ldil i6, negativeZeros || lsu1.ldih i6, negativeZeros
        peu.pc1c eq || lsu0.ldil i20, 0
        iau.and i16, i14, 7 || lsu0.ldil i25, 0xfc00 || cmu.cmii.i32 i9, i24  ; i16: vectors left over
        peu.pc1c neq || lsu0.ldil i25, 0
        iau.sub i17, i15, 1 || cmu.bcst.i16 v3, i25             ; i17: passes of the loop; v3: the floor
        iau.mov i21, i10                                        ; i21: groups of channels to go
        iau.add i2, i2, i13

group:  lsu0.ld.v128 v1, i5, 0 || lsu1.ld.v128 v2, i6, 0 || iau.mov i22, i1  ; scale, shift; i22 in
        iau.mov i23, i2 || cmu.cmii.i32 i15, i24                ; i23 out
        peu.pc1c eq || bru.bra tail
        iau.add i5, i5, i19
        iau.add i6, i6, i20
        iau.add i1, i1, 16
        iau.add i2, i2, 16
        nop 2
        lsu0.ld.v128 v8, i22, 0
        iau.add i22, i22, i11
        lsu0.ld.v128 v9, i22, 0
        iau.add i22, i22, i11
        lsu0.ld.v128 v10, i22, 0 || cmu.cpvv v16, v2
        vau.mac.f16 v16, v8, v1 || iau.add i22, i22, i11
        lsu0.ld.v128 v11, i22, 0 || cmu.cpvv v17, v2
        vau.mac.f16 v17, v9, v1 || iau.add i22, i22, i11
        lsu0.ld.v128 v12, i22, 0 || cmu.cpvv v18, v2 || vau.max.f16 v16, v16, v3
        vau.mac.f16 v18, v10, v1 || iau.add i22, i22, i11
        lsu0.ld.v128 v13, i22, 0 || cmu.cpvv v19, v2 || vau.max.f16 v17, v17, v3
        vau.mac.f16 v19, v11, v1 || lsu1.st.v128 v16, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v14, i22, 0 || cmu.cpvv v20, v2 || vau.max.f16 v18, v18, v3 || iau.add i23, i23, i11
        vau.mac.f16 v20, v12, v1 || lsu1.st.v128 v17, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v15, i22, 0 || cmu.cpvv v21, v2 || vau.max.f16 v19, v19, v3 || iau.add i23, i23, i11
        vau.mac.f16 v21, v13, v1 || lsu1.st.v128 v18, i23, 0 || iau.add i22, i22, i11 || bru.rpl i17, drain
        lsu0.ld.v128 v8, i22, 0 || cmu.cpvv v22, v2 || vau.max.f16 v20, v20, v3 || iau.add i23, i23, i11
        vau.mac.f16 v22, v14, v1 || lsu1.st.v128 v19, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v9, i22, 0 || cmu.cpvv v23, v2 || vau.max.f16 v21, v21, v3 || iau.add i23, i23, i11
        vau.mac.f16 v23, v15, v1 || lsu1.st.v128 v20, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v10, i22, 0 || cmu.cpvv v16, v2 || vau.max.f16 v22, v22, v3 || iau.add i23, i23, i11
        vau.mac.f16 v16, v8, v1 || lsu1.st.v128 v21, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v11, i22, 0 || cmu.cpvv v17, v2 || vau.max.f16 v23, v23, v3 || iau.add i23, i23, i11
        vau.mac.f16 v17, v9, v1 || lsu1.st.v128 v22, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v12, i22, 0 || cmu.cpvv v18, v2 || vau.max.f16 v16, v16, v3 || iau.add i23, i23, i11
        vau.mac.f16 v18, v10, v1 || lsu1.st.v128 v23, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v13, i22, 0 || cmu.cpvv v19, v2 || vau.max.f16 v17, v17, v3 || iau.add i23, i23, i11
        vau.mac.f16 v19, v11, v1 || lsu1.st.v128 v16, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v14, i22, 0 || cmu.cpvv v20, v2 || vau.max.f16 v18, v18, v3 || iau.add i23, i23, i11
        vau.mac.f16 v20, v12, v1 || lsu1.st.v128 v17, i23, 0 || iau.add i22, i22, i11
        lsu0.ld.v128 v15, i22, 0 || cmu.cpvv v21, v2 || vau.max.f16 v19, v19, v3 || iau.add i23, i23, i11
        vau.mac.f16 v21, v13, v1 || lsu1.st.v128 v18, i23, 0 || iau.add i22, i22, i11
drain:  cmu.cpvv v22, v2 || vau.max.f16 v20, v20, v3 || iau.add i23, i23, i11
        vau.mac.f16 v22, v14, v1 || lsu1.st.v128 v19, i23, 0
        cmu.cpvv v23, v2 || vau.max.f16 v21, v21, v3 || iau.add i23, i23, i11
        vau.mac.f16 v23, v15, v1 || lsu1.st.v128 v20, i23, 0
        vau.max.f16 v22, v22, v3 || iau.add i23, i23, i11
        lsu1.st.v128 v21, i23, 0
        vau.max.f16 v23, v23, v3 || iau.add i23, i23, i11
        lsu1.st.v128 v22, i23, 0
        iau.add i23, i23, i11
        lsu1.st.v128 v23, i23, 0
        iau.add i23, i23, i11

tail:   bru.rpl i16, next
        lsu0.ld.v128 v4, i22, 0 || cmu.cpvv v5, v2
        iau.add i22, i22, i11
        nop 3
        vau.mac.f16 v5, v4, v1
        nop 2
        vau.max.f16 v5, v5, v3
        nop
        lsu0.st.v128 v5, i23, 0
        iau.add i23, i23, i11
next:   iau.sub i21, i21, 1
        cmu.cmii.i32 i21, i24
        peu.pc1c neq || bru.bra group
        nop 6
        bru.swih 0

        .data
ones:   .half 0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00
negativeZeros:
        .half 0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000
