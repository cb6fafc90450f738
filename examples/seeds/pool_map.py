from  multiprocessing import Pool 
from time import sleep,ctime 
def fun(n):
    sleep(1)
    return n*n
#创建一个进程池
pool=Pool()

r=pool.map(fun,[1,2,3,4,5])

#关闭进程池
pool.close()
#回收进程池
pool.join()
print(r)
