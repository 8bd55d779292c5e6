; conv3x3-f16: a 3 x 3 f16 convolution of one channel, no padding:
;   out[y][x] = (acc0 + acc1) + acc2,  acc_r = k[r][0]*in[y+r][x] (+) k[r][1]*in[y+r][x+1] (+) k[r][2]*in[y+r][x+2]
; where the first product is rounded to f16 and each (+) is a vau.mac.f16.
; in: (rows + 2) x (8 * vectors + 2) values, out: rows x (8 * vectors), row-major.
; Arguments: i18 in, i17 k (9 f16, row-major), i16 out, i15 rows, i14 vectors per row.
        .code
conv:   lsu0.ld.u16 i1, i17, 0 || lsu1.ld.u16 i2, i17, 2
        lsu0.ld.u16 i3, i17, 4 || lsu1.ld.u16 i4, i17, 6
        lsu0.ld.u16 i5, i17, 8 || lsu1.ld.u16 i6, i17, 10
        lsu0.ld.u16 i7, i17, 12 || lsu1.ld.u16 i8, i17, 14
        lsu0.ld.u16 i9, i17, 16 || iau.shl i12, i14, 4
        cmu.bcst.i16 v20, i1 || iau.add i12, i12, 4     ; i12: input row stride in bytes
        cmu.bcst.i16 v21, i2
        cmu.bcst.i16 v22, i3
        cmu.bcst.i16 v23, i4
        cmu.bcst.i16 v24, i5
        cmu.bcst.i16 v25, i6
        cmu.bcst.i16 v26, i7
        cmu.bcst.i16 v27, i8 || lsu0.ldil i11, 0
        cmu.bcst.i16 v28, i9
row:    iau.mov i1, i18                                 ; the three input rows
        iau.add i2, i18, i12
        iau.add i3, i2, i12
        bru.rpl i14, rowend
        lsu0.ld.v128 v1, i1, 0 || lsu1.ld.v128 v4, i2, 0
        lsu0.ld.v128 v7, i3, 0 || lsu1.ld.v128 v2, i1, 2
        lsu0.ld.v128 v5, i2, 2 || lsu1.ld.v128 v8, i3, 2
        lsu0.ld.v128 v3, i1, 4 || lsu1.ld.v128 v6, i2, 4 || vau.mul.f16 v10, v20, v1
        lsu0.ld.v128 v9, i3, 4 || vau.mul.f16 v11, v23, v4 || iau.add i1, i1, 16
        vau.mul.f16 v12, v26, v7 || iau.add i2, i2, 16
        vau.mac.f16 v10, v21, v2 || iau.add i3, i3, 16
        vau.mac.f16 v11, v24, v5
        vau.mac.f16 v12, v27, v8
        vau.mac.f16 v10, v22, v3
        vau.mac.f16 v11, v25, v6
        vau.mac.f16 v12, v28, v9
        nop
        vau.add.f16 v13, v10, v11
        nop 2
        vau.add.f16 v14, v13, v12
        nop
        lsu0.sti.v128 v14, i16, 16
rowend: iau.add i18, i18, i12
        iau.sub i15, i15, 1
        cmu.cmii.i32 i15, i11
        peu.pc1c neq || bru.bra row
        nop 6
        bru.swih 0
