; matmul-f16: an 8 x 8 f16 tile C += A * B, A 8 x K, B K x 8, all row-major.
; Row i of C is kept in v0 while k runs: broadcast A[i][k], multiply-accumulate row k of B.
; Arguments: i18 A, i17 B, i16 C, i15 K (at least 1).
        .code
matmul: lsu0.ldil i14, 8 || lsu1.ldil i11, 0            ; rows left; zero to compare with
row:    lsu0.ld.v128 v0, i16, 0 || iau.mov i13, i17     ; C row i; B from its first row
        nop 2
        bru.rpl i15, kend
        lsu0.ldi.u16 i12, i18, 2 || lsu1.ldi.v128 v1, i13, 16
        nop 2
        cmu.bcst.i16 v2, i12
        vau.mac.f16 v0, v2, v1
kend:   nop 2                                           ; the last mac lands
        lsu0.sti.v128 v0, i16, 16 || iau.sub i14, i14, 1
        cmu.cmii.i32 i14, i11
        peu.pc1c neq || bru.bra row
        nop 6
        bru.swih 0
