; dot-f16: the dot product of two f16 vectors of n values (n a multiple of 8).
; Eight lane sums by vau.mac.f16, then a pairwise tree: lane l + lane l+4, then + lane l^2,
; then lane 0 + lane 1 on the SAU. Result: f16 bits in i18, and stored at out.
; Arguments: i18 a, i17 b, i16 n, i15 out.
        .code
dot:    iau.shr i14, i16, 3 || vau.xor v0, v0, v0
        bru.rpl i14, sum
        lsu0.ldi.v128 v1, i18, 16 || lsu1.ldi.v128 v2, i17, 16
        nop 2
        vau.mac.f16 v0, v1, v2
sum:    nop 2                                           ; mac takes 3 cycles
        cmu.vshuf.i32 v3, v0, 0x4e                      ; 32-bit lanes 2, 3, 0, 1
        vau.add.f16 v0, v0, v3
        nop
        cmu.vshuf.i32 v3, v0, 0xb1                      ; 32-bit lanes 1, 0, 3, 2
        vau.add.f16 v0, v0, v3
        nop
        cmu.cpvi.i16 i1, v0, 0
        cmu.cpvi.i16 i2, v0, 1
        cmu.cpsi s1, i1
        cmu.cpsi s2, i2
        sau.add.f16 s3, s1, s2
        nop
        cmu.cpis i18, s3
        lsu0.st.i16 i18, i15, 0
        bru.swih 0
