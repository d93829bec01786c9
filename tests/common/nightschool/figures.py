from nuanxin.common.stats import register_stat

register_stat("nightschool.lessons", label="夜校课程数", compute=lambda p, s, e: 2)
