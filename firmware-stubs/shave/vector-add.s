; vector-add: c[i] = a[i] + b[i] over n i32 values (n a multiple of 4), wrapping.
; Arguments (calling convention: i18 down): i18 a, i17 b, i16 c, i15 n.
        .code
vadd:   iau.shr i14, i15, 2                             ; 4 lanes per vector
        bru.rpl i14, done
        lsu0.ldi.v128 v1, i18, 16 || lsu1.ldi.v128 v2, i17, 16
        nop 2                                           ; loads from CMX take 3 cycles
        vau.add.i32 v3, v1, v2
        lsu0.sti.v128 v3, i16, 16
done:   bru.swih 0
