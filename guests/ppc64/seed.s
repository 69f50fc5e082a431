    li 16,8 # stores number 8 in register R16
    li 17,4 # stores number 4 in register R17
    mullw 18,16,17 # stores the result of R16 * R17 in R18
