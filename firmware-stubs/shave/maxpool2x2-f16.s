; maxpool2x2-f16: out[y][x] = the largest of in[2y][2x], in[2y][2x+1], in[2y+1][2x],
; in[2y+1][2x+1] (f16; any NaN gives the default NaN).
; in: (2 * rows) x (16 * groups) values, out: rows x (8 * groups), row-major.
; Per group of 16 columns: the vertical max of two vectors from each row, then each pair's max
; in the even lane (the odd lane shifted down within its 32 bits), stored lane by lane.
; Arguments: i18 in, i17 out, i16 rows, i15 groups.
        .code
pool:   iau.shl i14, i15, 5 || lsu0.ldil i11, 0        ; i14: input row bytes
row:    iau.mov i1, i18
        iau.add i2, i18, i14
        bru.rpl i15, rowend
        lsu0.ld.v128 v1, i1, 0 || lsu1.ld.v128 v2, i1, 16
        lsu0.ld.v128 v3, i2, 0 || lsu1.ld.v128 v4, i2, 16
        iau.add i1, i1, 32
        iau.add i2, i2, 32
        vau.max.f16 v5, v1, v3
        vau.max.f16 v6, v2, v4
        vau.shr.i32 v7, v5, 16
        vau.shr.i32 v8, v6, 16
        vau.max.f16 v5, v5, v7
        vau.max.f16 v6, v6, v8
        cmu.cpvi.i16 i3, v5, 0
        cmu.cpvi.i16 i4, v5, 2
        cmu.cpvi.i16 i5, v5, 4 || lsu0.sti.i16 i3, i17, 2
        cmu.cpvi.i16 i6, v5, 6 || lsu0.sti.i16 i4, i17, 2
        cmu.cpvi.i16 i7, v6, 0 || lsu0.sti.i16 i5, i17, 2
        cmu.cpvi.i16 i8, v6, 2 || lsu0.sti.i16 i6, i17, 2
        cmu.cpvi.i16 i9, v6, 4 || lsu0.sti.i16 i7, i17, 2
        cmu.cpvi.i16 i10, v6, 6 || lsu0.sti.i16 i8, i17, 2
        lsu0.sti.i16 i9, i17, 2
        lsu0.sti.i16 i10, i17, 2
rowend: iau.add i18, i18, i14                           ; past both input rows
        iau.add i18, i18, i14
        iau.sub i16, i16, 1
        cmu.cmii.i32 i16, i11
        peu.pc1c neq || bru.bra row
        nop 6
        bru.swih 0
