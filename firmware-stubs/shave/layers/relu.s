; relu: out = max(in, +0 + in * s) lane by lane, s the negative slope (0: plain ReLU, 0 < s <= 1:
; leaky ReLU). The product's sum with +0 (one vau.mac.f16) turns -0 into +0. NaN in, NaN out.
; Job (emu/graph/job.ts), split by elements: the share is count 8-lane vectors from vector
; `first` of in0 and out, both dense HWC8 with the same strides. Params: word 0 the slope (f16).
        .code
relu:   lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 64       ; in0, out
        lsu0.ld.i32 i3, i18, 104 || lsu1.ld.i32 i4, i18, 108    ; first, count
        lsu0.ld.u16 i5, i18, 128 || vau.xor v0, v0, v0          ; slope; v0 = +0
        nop 2
        iau.shl i3, i3, 4
        iau.add i1, i1, i3 || cmu.bcst.i16 v1, i5
        iau.add i2, i2, i3
        bru.rpl i4, done
        lsu0.ldi.v128 v2, i1, 16 || cmu.cpvv v5, v0
        nop 4                                                   ; from DDR a load takes 5 cycles
        vau.mac.f16 v5, v2, v1
        nop 2
        vau.max.f16 v3, v2, v5
        nop
        lsu0.sti.v128 v3, i2, 16
done:   bru.swih 0
