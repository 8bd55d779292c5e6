; relu-f16: out[i] = max(in[i], +0) over n f16 values (n a multiple of 8); NaN in, NaN out.
; Arguments: i18 in, i17 out, i16 n.
        .code
relu:   iau.shr i15, i16, 3 || vau.xor v2, v2, v2      ; 8 lanes per vector; v2 = +0
        bru.rpl i15, done
        lsu0.ldi.v128 v1, i18, 16
        nop 2
        vau.max.f16 v3, v1, v2
        nop                                             ; f16 operations take 2 cycles
        lsu0.sti.v128 v3, i17, 16
done:   bru.swih 0
